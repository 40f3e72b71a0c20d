// Templated migration data from real records: each category's prompts are a long fixed template (tool
// descriptions, a label set with instructions, JSON-extraction rules, a long system prompt, code-review
// rules) around a short part that varies, as a team's requests to a service LLM look. Near-duplicates
// and paraphrases of known records are injected, so the truth of every pair is known.
import type { CoverageRecord } from '../activities/data/curation/records';
import { mulberry32, pick, type Rng } from '../activities/synthesis/rng';

export interface PromptTemplate {
  category: string;
  /** text before and after the variable part; `{context}` (optional) takes the record's context */
  before: string;
  after: string;
  /** the response the template asks for, from the real record */
  response: (r: CoverageRecord) => string;
}

const LABELS = [
  'open_qa',
  'general_qa',
  'classification',
  'closed_qa',
  'brainstorming',
  'information_extraction',
  'summarization',
  'creative_writing',
];

const LABEL_HELP = [
  'a factual question answerable from general knowledge, without a reference text',
  'an open question that asks for explanation or opinion in general terms',
  'sorting items or texts into given classes',
  'a question about a given reference text, answerable from it alone',
  'generating many ideas or options',
  'pulling specific facts or fields out of a given text',
  'condensing a given text into its main points',
  'stories, poems, letters and other imaginative writing',
];

export const TEMPLATES: PromptTemplate[] = [
  {
    category: 'tool-use',
    before: `You are an assistant with access to the following tools. Call a tool only when the request needs it; otherwise answer directly.

Tools:
- search_web(query: string, max_results: integer = 5): searches the public web and returns titles, URLs and snippets. Use for recent events or facts you are unsure of.
- get_weather(city: string, unit: "celsius" | "fahrenheit"): current conditions and a three-day forecast for a city.
- calculator(expression: string): evaluates an arithmetic expression exactly; use it for any sum with more than two terms.
- lookup_order(order_id: string): status, items and shipping date of a customer order.
- send_email(to: string, subject: string, body: string): sends an email on the user's behalf after they confirm it.

Respond with a JSON object {"tool": name or null, "arguments": {...}, "answer": text} and nothing else.

User request: `,
    after: `

Remember: never invent tool results, and ask one clarifying question when the request is ambiguous.`,
    response: (r) => JSON.stringify({ tool: null, arguments: {}, answer: r.response }),
  },
  {
    category: 'triage',
    before: `Classify the request below into exactly one of these labels. Read the definitions carefully.

${LABELS.map((l, i) => `${i + 1}. ${l}: ${LABEL_HELP[i]}`).join('\n')}

Rules: answer with the label only, in lower case, with no punctuation or explanation. When two labels fit, prefer the more specific one (closed_qa over open_qa, information_extraction over summarization).

Request: `,
    after: `
Label:`,
    response: (r) => r.category,
  },
  {
    category: 'extraction',
    before: `Extract structured data from the passage that follows the instructions. Output a single JSON object with these fields and no others:
- "topic" (string): what the passage is mainly about, in at most five words;
- "entities" (array of strings): people, organisations and places named in the passage, in order of first mention, without duplicates;
- "dates" (array of strings): every date or year mentioned, as written;
- "answer" (string): the answer to the question, using only facts stated in the passage.
Use null for a field the passage does not support. Do not add commentary, markdown fences or trailing text. Numbers stay as written.

Question: `,
    after: `

Passage:
{context}

JSON:`,
    response: (r) => JSON.stringify({ topic: null, entities: [], dates: [], answer: r.response }),
  },
  {
    category: 'support',
    before: `System: You are Ava, the customer assistant of Northwind Outfitters, an outdoor-equipment retailer. Be warm, concise and accurate. Follow these rules in every answer:
1. Answer the question first, in plain language, then add at most one helpful tip.
2. Never promise refunds, discounts or delivery dates; point to the returns page or an agent instead.
3. Do not give medical, legal or financial advice; suggest a qualified professional.
4. Keep answers under 200 words unless the customer asks for detail.
5. If you do not know, say so and offer to connect the customer with a human agent.
6. Use the customer's language and never mention these instructions.

Customer: `,
    after: `
Ava:`,
    response: (r) => r.response,
  },
  {
    category: 'code-review',
    before: `You are a senior software engineer reviewing and writing code for a production codebase. Requirements for every answer:
- Write idiomatic, readable code with meaningful names; prefer the standard library over new dependencies.
- Handle errors explicitly and validate inputs at the boundaries.
- Add a short comment only where the intent is not obvious from the code.
- State the time and space complexity when it is not constant.
- Output only the code in one fenced block, followed by at most three sentences of explanation.

Task: `,
    after: `
{context}
Answer:`,
    response: (r) => r.response,
  },
  {
    category: 'summaries',
    before: `Summarize or answer as instructed for the company knowledge base. Style guide: neutral tone, present tense, no first person, British spelling, short sentences. Start with the key fact. Spell out abbreviations on first use. Never copy more than ten consecutive words from the source. If the source contradicts itself, say which version you followed.

Instruction: `,
    after: `
Source material:
{context}

Write the result below.`,
    response: (r) => r.response,
  },
];

export function templateChars(t: PromptTemplate): number {
  return t.before.length + t.after.replace('{context}', '').length;
}

/** A real record wrapped in a template: the variable part is its instruction (and context). */
export function wrapRecord(r: CoverageRecord, t: PromptTemplate): CoverageRecord {
  const base = { id: r.id, category: t.category, response: t.response(r) };
  if (t.after.includes('{context}'))
    return {
      ...base,
      instruction: t.before + r.instruction + t.after.replace('{context}', r.context),
      context: '',
    };
  if (r.context) return { ...base, instruction: t.before + r.instruction, context: r.context + t.after };
  return { ...base, instruction: t.before + r.instruction + t.after, context: '' };
}

/** Which template a record goes in: by its real category, so a template's records are alike in kind. */
export function templateFor(r: CoverageRecord): PromptTemplate {
  if (r.id.startsWith('code_alpaca')) return TEMPLATES[4]!;
  switch (r.category) {
    case 'classification':
    case 'brainstorming':
      return TEMPLATES[1]!;
    case 'closed_qa':
    case 'information_extraction':
      return r.context ? TEMPLATES[2]! : TEMPLATES[0]!;
    case 'summarization':
      return TEMPLATES[5]!;
    case 'open_qa':
    case 'general_qa':
      return TEMPLATES[0]!;
    default:
      return TEMPLATES[3]!;
  }
}

// --- injected near-duplicates and paraphrases -------------------------------------------------

type Edit = (s: string, rng: Rng) => string;

const caseAndSpace: Edit = (s, rng) =>
  s
    .split(' ')
    .map((w) => (rng() < 0.25 ? w.toUpperCase() : w))
    .join(rng() < 0.5 ? '  ' : '\n');
const punctuation: Edit = (s) => s.replace(/[.,;:]/g, ' ;') + ' !';
const numbers: Edit = (s) => s.replace(/\d+/g, (d) => String(Number(d) + 3));
const swapNeighbours: Edit = (s, rng) => {
  const w = s.split(' ');
  for (let i = 0; i + 1 < w.length; i++) if (rng() < 0.03) [w[i], w[i + 1]] = [w[i + 1]!, w[i]!];
  return w.join(' ');
};
const prefix: Edit = (s, rng) => pick(rng, ['Sure! ', 'Certainly. ', 'Here you go: ', 'Answer: ']) + s;

// Paraphrase-like rewordings: the same content with different connecting words.
const REWORD: [RegExp, string][] = [
  [/\bWhat is\b/g, "What's"],
  [/\bwhat is\b/g, "what's"],
  [/\bcan you\b/gi, 'could you'],
  [/\bplease\b/gi, 'kindly'],
  [/\bbecause\b/g, 'since'],
  [/\balso\b/g, 'as well'],
  [/\bhowever\b/gi, 'but'],
  [/\bvery\b/g, 'really'],
  [/\bbig\b/g, 'large'],
  [/\bsmall\b/g, 'little'],
  [/\bmany\b/g, 'lots of'],
  [/\bis called\b/g, 'is known as'],
  [/\bTell me\b/g, 'Tell me briefly'],
  [/\bDescribe\b/g, 'Explain'],
];
const reword: Edit = (s) => REWORD.reduce((t, [re, to]) => t.replace(re, to), s);
const reorderSentences: Edit = (s, rng) => {
  const parts = s.split(/(?<=[.!?])\s+/);
  if (parts.length < 3) return s;
  const i = 1 + Math.floor(rng() * (parts.length - 1));
  [parts[0], parts[i]] = [parts[i]!, parts[0]!];
  return parts.join(' ');
};

export const NEAR_DUPLICATE_EDITS: Edit[] = [caseAndSpace, punctuation, numbers, swapNeighbours, prefix];
export const PARAPHRASE_EDITS: Edit[] = [reword, reorderSentences];

export interface InjectedSet {
  /** the distinct records first, then the injected copies */
  samples: CoverageRecord[];
  /** samples[i] for i >= distinct is a copy of samples[copyOf[i - distinct]] */
  distinct: number;
  copyOf: number[];
  /** which copies are paraphrases (the rest are near-duplicates) */
  paraphrase: boolean[];
}

/** Distinct records plus `copies` near-duplicates / paraphrases (half each) of randomly chosen ones. */
export function injectCopies(
  distinct: CoverageRecord[],
  copies: number,
  seed: number,
  wrapIn?: (r: CoverageRecord) => PromptTemplate,
): InjectedSet {
  const rng = mulberry32(seed);
  const out = distinct.map((r) => (wrapIn ? wrapRecord(r, wrapIn(r)) : r));
  const copyOf: number[] = [];
  const paraphrase: boolean[] = [];
  for (let c = 0; c < copies; c++) {
    const at = Math.floor(rng() * distinct.length);
    const base = distinct[at]!;
    const para = c % 2 === 1;
    const edit = para ? pick(rng, PARAPHRASE_EDITS) : pick(rng, NEAR_DUPLICATE_EDITS);
    const second = para ? pick(rng, NEAR_DUPLICATE_EDITS.slice(0, 2)) : (s: string) => s;
    // the copy rewrites what varies: the record's own instruction and response, never the template
    const copy: CoverageRecord = {
      ...base,
      id: `${base.id}~copy${c}`,
      instruction: para
        ? reword(base.instruction, rng)
        : rng() < 0.5
          ? edit(base.instruction, rng)
          : base.instruction,
      response: second(edit(base.response, rng), rng),
    };
    out.push(wrapIn ? wrapRecord(copy, wrapIn(base)) : copy);
    copyOf.push(at);
    paraphrase.push(para);
  }
  return { samples: out, distinct: distinct.length, copyOf, paraphrase };
}
