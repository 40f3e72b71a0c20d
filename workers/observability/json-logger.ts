// The worker runtime's logger: one JSON object per line on stdout (what log collectors parse), with the
// SDK's context (workflowId, activityType, ...) and llamaduo's (migrationId, cycle) as top-level fields.
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

export function formatLogEntry(entry: LogEntry): string {
  const meta: Record<string, unknown> = { ...(entry.meta ?? {}) };
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify(
    { time, level: entry.level.toLowerCase(), message: entry.message, ...meta },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.stack : v),
  );
}

export function jsonLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
) {
  return new DefaultLogger(level, (entry) => write(formatLogEntry(entry)));
}
