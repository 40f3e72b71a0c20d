// How a test record is put to a model that answers it (the teacher's baseline).
import type { TestRecord } from './eval-inputs';

export function taskPrompt(r: Pick<TestRecord, 'instruction' | 'context'>): string {
  return r.context.trim() ? `${r.instruction}\n\nContext:\n${r.context}` : r.instruction;
}
