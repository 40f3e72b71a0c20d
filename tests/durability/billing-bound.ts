// How many replies the provider billed twice because of the kills, against what the checkpoint design allows:
// - synthesis (activities/synthesis/synthesize-shard.ts) checkpoints after every paid request, so a request is
//   asked again only if a kill caught it in flight: sent before the kill and its reply not yet in the
//   checkpoint (billed after the kill, or less than IN_TRANSIT_MS before it). At most SHARD_CONCURRENCY per
//   shard running at the kill.
// - judging and the teacher baseline (activities/eval/resumable-run.ts) checkpoint every CHECKPOINT_EVERY
//   results, so a kill loses at most CHECKPOINT_EVERY - 1 finished results and the calls in flight: at most
//   CHECKPOINT_EVERY - 1 + EVAL_CONCURRENCY per activity running at the kill, each answered before the kill.
// A reply counts as billed twice when the killed run's server billed that exact request (system prompt,
// messages, schema) more often than the reference run's server did.
import { extraBillings, type Billed, type RequestKind } from './provider-log';
import type { KillRecord } from './kill-audit';

/** synthesize-shard.ts: requests in flight per shard (SynthesisDeps.concurrency default) */
const SHARD_CONCURRENCY = 8;
/** resumable-run.ts: checkpointEvery default */
const CHECKPOINT_EVERY = 20;
/** eval-activities.ts: calls in flight per judge shard or teacher baseline */
const EVAL_CONCURRENCY = 8;
/** from the server billing a reply to the client having it in its checkpoint */
const IN_TRANSIT_MS = 1000;

const ACTIVITY: Record<RequestKind, string> = {
  synthesis: 'synthesizeShard',
  judge: 'judgeShard',
  baseline: 'teacherBaseline',
};
const PER_ATTEMPT: Record<RequestKind, number> = {
  synthesis: SHARD_CONCURRENCY,
  judge: CHECKPOINT_EVERY - 1 + EVAL_CONCURRENCY,
  baseline: CHECKPOINT_EVERY - 1 + EVAL_CONCURRENCY,
};

export interface BillingCheck {
  extra: number;
  bound: number;
  lines: string[];
  errors: string[];
}

export function checkBilling(killed: Billed[], calm: Billed[], kills: KillRecord[]): BillingCheck {
  const extra = extraBillings(killed, calm);
  const errors: string[] = [];
  // per kill and kind: the billings it explains, and what the design allows it
  const used = kills.map(() => ({ synthesis: 0, judge: 0, baseline: 0 }) as Record<RequestKind, number>);
  const allowed = kills.map((k) => {
    const a = {} as Record<RequestKind, number>;
    for (const kind of Object.keys(ACTIVITY) as RequestKind[])
      a[kind] = PER_ATTEMPT[kind] * k.running.filter((r) => r.type === ACTIVITY[kind]).length;
    return a;
  });
  for (const e of extra) {
    // some earlier billing of the same request must have been lost to a kill that the design allows to lose it
    const earlier = killed.filter((b) => b.content === e.content && b.billedAt < e.billedAt);
    const k = kills.findIndex(
      (kill, i) =>
        kill.at <= e.arrivedAt &&
        used[i]![e.kind] < allowed[i]![e.kind] &&
        earlier.some(
          (lost) =>
            lost.arrivedAt < kill.at && (e.kind !== 'synthesis' || lost.billedAt >= kill.at - IN_TRANSIT_MS),
        ),
    );
    if (k < 0) {
      errors.push(
        `a ${e.kind} request was billed again without a kill that its ` +
          `${e.kind === 'synthesis' ? 'per-request' : 'periodic'} checkpoint allows to lose it`,
      );
      continue;
    }
    used[k]![e.kind]++;
  }
  const kinds = Object.keys(ACTIVITY) as RequestKind[];
  const total = (xs: Record<RequestKind, number>[], kind: RequestKind) => xs.reduce((s, x) => s + x[kind], 0);
  const bound = kinds.reduce((s, kind) => s + total(allowed, kind), 0);
  const count = (list: Billed[], kind: RequestKind) => list.filter((b) => b.kind === kind).length;
  const lines = [
    `billing (the provider server's own log): killed run ${killed.length} replies billed, reference ${calm.length}; ` +
      `${extra.length} billed twice: ` +
      kinds.map((kind) => `${kind} ${count(extra, kind)} (bound ${total(allowed, kind)})`).join(', '),
    `bound: synthesis asks again only what a kill caught in flight (checkpoint after every paid request): ` +
      `${SHARD_CONCURRENCY} per running shard per kill; judging and the teacher baseline checkpoint every ` +
      `${CHECKPOINT_EVERY} results: ${PER_ATTEMPT.judge} per running activity per kill`,
  ];
  return { extra: extra.length, bound, lines, errors };
}
