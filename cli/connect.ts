// How the CLI reaches Temporal: $TEMPORAL_ADDRESS when set, else the embedded dev server on loopback
// (started on demand by `llamaduo start` / `llamaduo server`, state kept in .llamaduo/temporal.sqlite).
import { Client, Connection } from '@temporalio/client';
import { dataConverterFromEnv } from '../activities/codec/data-converter';
import { temporalConnectionSettings } from '../common/temporal-connection';

export const EMBEDDED_ADDRESS = '127.0.0.1:7233';
export const EMBEDDED_UI = 'http://127.0.0.1:8233';

export function temporalAddress(): string {
  return process.env.TEMPORAL_ADDRESS ?? EMBEDDED_ADDRESS;
}

export function uiUrl(): string {
  return process.env.TEMPORAL_UI_URL ?? (process.env.TEMPORAL_ADDRESS ? '' : EMBEDDED_UI);
}

export async function connect(
  address = temporalAddress(),
): Promise<{ client: Client; connection: Connection }> {
  try {
    const connection = await Connection.connect({
      ...temporalConnectionSettings(address),
      connectTimeout: 3000,
    });
    const client = new Client({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      dataConverter: dataConverterFromEnv(),
    });
    return { client, connection };
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${address}${process.env.TEMPORAL_ADDRESS ? '' : ' (embedded dev server: run `llamaduo server` or `llamaduo start --embedded`)'}: ${(err as Error).message}`,
      4,
    );
  }
}

export async function reachable(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ ...temporalConnectionSettings(address), connectTimeout: 1000 });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** An error with the exit code the CLI should end with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
