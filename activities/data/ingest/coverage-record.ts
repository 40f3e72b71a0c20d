// The one internal shape every coverage dataset is normalized to.
export interface CoverageRecord {
  /** the record's own id when it has one, else a hash of its content: stable across re-ingests */
  id: string;
  category: string;
  instruction: string;
  /** extra input shown with the instruction (Dolly context, Alpaca input, a system message); may be empty */
  context: string;
  /** the response the user was satisfied with: the reference in evaluation */
  response: string;
  provenance: { file: string; line: number; shape: RecordShape };
  /** the record's side, read from the field split.field names (only when it names one) */
  split?: string;
}

export type RecordShape = 'messages' | 'prompt-response' | 'dolly' | 'alpaca';

/** An input problem, located precisely enough to fix it without reading code. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly field: string | null,
    readonly problem: string,
  ) {
    super(`${file}${line !== null ? `:${line}` : ''}${field ? ` field '${field}'` : ''}: ${problem}`);
    this.name = 'DatasetError';
  }
}

/** Several problems at once, so a user fixes a file in one pass. */
export class DatasetErrors extends Error {
  constructor(readonly errors: DatasetError[]) {
    const shown = errors.slice(0, 20).map((e) => `  ${e.message}`);
    const more = errors.length > 20 ? [`  ... and ${errors.length - 20} more`] : [];
    super(
      `invalid coverage dataset (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${[...shown, ...more].join('\n')}`,
    );
    this.name = 'DatasetErrors';
  }
}
