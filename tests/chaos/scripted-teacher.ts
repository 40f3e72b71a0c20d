// A deterministic teacher and judge for the chaos run: every answer is a pure function of the request's
// content, so a run with faults (retries, resumed shards, restarted workers) must end with exactly the data of
// a fault-free run. Text is built from English words so the curation's language rule accepts it.
import { createHash } from 'node:crypto';
import { parseJudgePrompt } from '../../activities/eval/judge-prompts';
import type { ServedRequest } from '../servers/scripted';

const WORDS = (
  'time person year way day thing man world life hand part child eye woman place work week case point government ' +
  'company number group problem fact water river city market garden school story music family house country ' +
  'question answer reason result change idea study system program paper letter price energy light ' +
  'quickly carefully usually often never always simply clearly easily rarely ' +
  'make find give tell become leave feel bring begin keep hold write stand hear provide include continue learn ' +
  'small large early young important public different local social national possible strong simple common'
).split(' ');

function stream(seed: string): () => number {
  let counter = 0;
  let pool: Buffer = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + 4 > pool.length) {
      pool = createHash('sha256').update(`${seed}#${counter++}`).digest();
      at = 0;
    }
    const v = pool.readUInt32BE(at);
    at += 4;
    return v / 2 ** 32;
  };
}

function sentence(rand: () => number, words: number): string {
  const out = Array.from({ length: words }, () => WORDS[Math.floor(rand() * WORDS.length)]!);
  out[0] = out[0]![0]!.toUpperCase() + out[0]!.slice(1);
  return `${out.join(' ')}.`;
}

export function scriptedTeacher(req: ServedRequest): string {
  const user = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  const schema = JSON.stringify(req.schema ?? '');
  const rand = stream(`${req.system}\n${user}`);
  if (schema.includes('similarity_assessment')) {
    const { material } = parseJudgePrompt(user);
    const r = stream(material.response ?? user);
    const score = () => 40 + Math.floor(r() * 50);
    return JSON.stringify({
      similarity_assessment: { score: score(), rationale: 'compared with the reference' },
      precision_assessment: { score: score(), rationale: 'answers the instruction' },
    });
  }
  if (schema.includes('verdict'))
    return JSON.stringify({ rationale: 'compared both', verdict: rand() < 0.5 ? 'A' : 'B' });
  if (schema.includes('examples')) {
    const n = Number(/Write (\d+) new/.exec(user)?.[1] ?? 3);
    return JSON.stringify({
      examples: Array.from({ length: n }, () => ({
        instruction: `${sentence(rand, 9)} ${sentence(rand, 7)}`.replace(/\.$/, '?'),
        context: '',
        response: `${sentence(rand, 12)} ${sentence(rand, 10)}`,
      })),
    });
  }
  return `${sentence(rand, 10)} ${sentence(rand, 8)}`;
}
