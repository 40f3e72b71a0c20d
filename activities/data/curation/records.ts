// Record shapes the curation and synthesis steps read and write.
import type { TextFields } from './features';

/** A coverage record as ingest writes it to the train/test splits. */
export interface CoverageRecord extends TextFields {
  id: string;
  category: string;
  provenance?: unknown;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Lineage every synthetic sample carries. */
export interface Lineage {
  id: string;
  category: string;
  seedId: string;
  teacher: string;
  cycle: number;
  round: number;
  shard: number;
  promptHash: string;
}

/** What a synthesis shard writes: the teacher's fields as returned, plus lineage. */
export interface RawSample extends Lineage, Omit<TextFields, 'category'> {}

/** An accepted synthetic sample: chat `messages` (TRL / axolotl ready) plus lineage. */
export interface SyntheticSample extends Lineage {
  messages: ChatMessage[];
}

export function userContent(f: TextFields): string {
  return f.context.trim() ? `${f.instruction.trim()}\n\n${f.context.trim()}` : f.instruction.trim();
}

export function toSyntheticSample(raw: RawSample): SyntheticSample {
  const { instruction: _i, context: _c, response, ...lineage } = raw;
  return {
    ...lineage,
    messages: [
      { role: 'user', content: userContent(raw) },
      { role: 'assistant', content: response.trim() },
    ],
  };
}

/**
 * Text fields of an accepted sample for comparisons with later ones. The user turn holds instruction and
 * context together, so both count as the instruction here; the whole-sample view is unaffected.
 */
export function fieldsOfSample(s: SyntheticSample): TextFields {
  const user = s.messages.filter((m) => m.role === 'user').map((m) => m.content);
  const assistant = s.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
  return { instruction: user.join('\n'), context: '', response: assistant.join('\n') };
}
