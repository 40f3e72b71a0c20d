// The CLI's log file: the Temporal SDK's worker and runtime logs (native core logs forwarded too) and the full
// failure chains with stack traces, so the console only shows what a person needs. `--verbose` mirrors every
// line to stderr as well. Default: $LLAMADUO_HOME/logs/llamaduo.log (.llamaduo/logs/llamaduo.log), or
// $LLAMADUO_LOG_FILE.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { causeChain } from './failure-paragraph';

const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export function logFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(
    env.LLAMADUO_LOG_FILE ?? path.join(env.LLAMADUO_HOME ?? '.llamaduo', 'logs', 'llamaduo.log'),
  );
}

export interface LogFileOptions {
  file?: string;
  /** lowest level written; default $LLAMADUO_LOG_LEVEL or INFO */
  level?: LogLevel;
  /** also hand every line to this (the --verbose console) */
  mirror?: (text: string) => void;
}

export class LogFile {
  readonly file: string;
  readonly level: LogLevel;
  private readonly mirror?: (text: string) => void;

  constructor(opts: LogFileOptions = {}) {
    this.file = opts.file ?? logFilePath();
    const fromEnv = process.env.LLAMADUO_LOG_LEVEL?.toUpperCase() as LogLevel | undefined;
    this.level = opts.level ?? (fromEnv && LEVELS.includes(fromEnv) ? fromEnv : 'INFO');
    this.mirror = opts.mirror;
    mkdirSync(path.dirname(this.file), { recursive: true });
  }

  /** A Temporal Logger for Runtime.install that writes here. */
  logger(): DefaultLogger {
    return new DefaultLogger(this.level, (entry) => this.append(formatEntry(entry)));
  }

  write(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.append(formatEntry({ level, message, meta, timestampNanos: BigInt(Date.now()) * 1_000_000n }));
  }

  /** The whole failure chain, each cause with its stack trace. */
  failure(message: string, err: unknown, meta: LogMetadata = {}): void {
    this.write('ERROR', message, { ...meta, error: err });
  }

  private append(text: string) {
    // synchronous: a line must be on disk even when the process exits right after a failure
    appendFileSync(this.file, `${text}\n`);
    this.mirror?.(text);
  }
}

/** `<ISO time> <LEVEL> <message> <meta as JSON>`, then every Error in meta as an indented cause chain. */
export function formatEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const errors: [string, unknown][] = [];
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry.meta ?? {})) {
    if (v instanceof Error) errors.push([k, v]);
    else meta[k] = v;
  }
  let line = `${time} ${entry.level.padEnd(5)} ${entry.message}`;
  if (Object.keys(meta).length) line += ` ${JSON.stringify(meta, jsonSafe)}`;
  for (const [k, err] of errors) line += `\n  ${k}: ${formatErrorChain(err).replace(/\n/g, '\n  ')}`;
  return line;
}

export function formatErrorChain(err: unknown): string {
  return causeChain(err)
    .map((e, i) => {
      const head = i === 0 ? '' : 'caused by: ';
      if (!(e instanceof Error)) return `${head}${String(e)}`;
      const extra = describeFields(e);
      const stack =
        e.stack && e.stack.includes(e.message) ? e.stack : `${e.name}: ${e.message}\n${e.stack ?? ''}`;
      return `${head}${stack.trimEnd()}${extra ? `\n  ${extra}` : ''}`;
    })
    .join('\n');
}

/** The Temporal failure fields that say where it happened (activity type, failure type, timeout type). */
function describeFields(e: Error): string {
  const picked: Record<string, unknown> = {};
  for (const k of [
    'type',
    'activityType',
    'activityId',
    'workflowType',
    'timeoutType',
    'retryState',
    'nonRetryable',
  ])
    if ((e as unknown as Record<string, unknown>)[k] !== undefined)
      picked[k] = (e as unknown as Record<string, unknown>)[k];
  return Object.keys(picked).length ? JSON.stringify(picked, jsonSafe) : '';
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return value;
}
