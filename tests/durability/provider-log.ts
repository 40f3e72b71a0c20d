// The provider server of the durability run, and its own log of what it billed: every answered request with
// the time it arrived and the time it was billed (the server bills a reply when it produces it, whether or not
// the client is still there to read it). Billing twice is counted from this log, not from the client.
import { scriptedTeacher } from '../chaos/scripted-teacher';
import { startOpenAiServer, type ServedRequest, type StartedServer } from '../servers';

/** Which activity asks a request: the judge, the synthesis teacher or the teacher baseline. */
export type RequestKind = 'judge' | 'synthesis' | 'baseline';

export interface Billed {
  /** the request's content: system prompt, messages and output schema */
  content: string;
  kind: RequestKind;
  arrivedAt: number;
  billedAt: number;
}

export interface LoggedProvider {
  server: StartedServer;
  billed: Billed[];
}

export function kindOf(req: ServedRequest): RequestKind {
  const schema = JSON.stringify(req.schema ?? '');
  if (schema.includes('similarity_assessment') || schema.includes('verdict')) return 'judge';
  if (schema.includes('examples')) return 'synthesis';
  return 'baseline';
}

export async function startLoggedProvider(apiKey: string, seed: number): Promise<LoggedProvider> {
  const billed: Billed[] = [];
  const arrived = new WeakMap<ServedRequest, number>();
  const server = await startOpenAiServer({
    apiKey,
    seed,
    // long enough that a kill often finds requests in flight
    latencyMs: [150, 600],
    rpm: 1_000_000,
    tpm: 1_000_000_000,
    onRequest: (req) => arrived.set(req, Date.now()),
    respond: async (req) => {
      // synthesis requests take longer (as a teacher writing several examples does), so kills catch shards
      // with requests in flight; billed when the reply is made, as the server always bills
      if (kindOf(req) === 'synthesis') await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1500));
      billed.push({
        content: JSON.stringify([req.system, req.messages, req.schema]),
        kind: kindOf(req),
        arrivedAt: arrived.get(req) ?? Date.now(),
        billedAt: Date.now(),
      });
      return scriptedTeacher(req);
    },
  });
  return { server, billed };
}

/** Replies billed more often than the uninterrupted run billed the same request, by kind. */
export function extraBillings(killed: Billed[], calm: Billed[]): Billed[] {
  const allowed = new Map<string, number>();
  for (const b of calm) allowed.set(b.content, (allowed.get(b.content) ?? 0) + 1);
  const extra: Billed[] = [];
  const seen = new Map<string, number>();
  for (const b of [...killed].sort((x, y) => x.billedAt - y.billedAt)) {
    const n = (seen.get(b.content) ?? 0) + 1;
    seen.set(b.content, n);
    if (n > (allowed.get(b.content) ?? 0)) extra.push(b);
  }
  return extra;
}
