// The worker runtime's logger: one JSON object per line on stdout (what log collectors parse), with the
// SDK's context (workflowId, activityType, ...) and llamaduo's (migrationId, cycle) as top-level fields.
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/** A JSON replacer for log metadata: bigints as strings, errors as stacks, cycles (the SDK logs worker
 * options, plugins included) and functions left out. A log line never throws. */
function replacer() {
  const seen = new WeakSet<object>();
  return (_key: string, v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
    if (v instanceof Error) return v.stack ?? v.message;
    if (v !== null && typeof v === 'object') {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  };
}

export function formatLogEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const line = { time, level: entry.level.toLowerCase(), message: entry.message, ...(entry.meta ?? {}) };
  try {
    return JSON.stringify(line, replacer());
  } catch (err) {
    return JSON.stringify({ time, level: line.level, message: entry.message, logError: String(err) });
  }
}

export function jsonLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(formatLogEntry(entry)));
}
