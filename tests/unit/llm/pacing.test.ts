// The pacing rule of both limiters (activities/llm/pacing.ts), run on a virtual clock: for limits from
// 50 to 10,000 RPM and demand that alternates idle spells and backlogs, no window of `windowSeconds` lets
// more requests go than the limit's share of it, and a backlog drains at no less than 0.95 of the limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Limits } from '../../../activities/llm/limiter';
import { bucketShape, charge, DEFAULT_HEADROOM, earliest, type Gcra } from '../../../activities/llm/pacing';
import { maxInWindow } from '../../integration/shared-limits/replicas';

/** Send times for requests arriving at `arrivals` (ms), served FIFO by the pacing rule alone. */
function schedule(limits: Limits, arrivals: number[], cost = 1): number[] {
  const req: Gcra = { tat: -Infinity };
  const tok: Gcra = { tat: -Infinity };
  const rs = bucketShape(limits.rpm, limits, true);
  const ts = bucketShape(limits.tpm, limits, false);
  const sent: number[] = [];
  let free = -Infinity; // FIFO: nobody goes before the one ahead
  for (const a of arrivals) {
    const at = Math.max(a, free, earliest(req, rs, 1, 1), earliest(tok, ts, 1, cost));
    charge(req, rs, 1, 1, at);
    charge(tok, ts, 1, cost, at);
    sent.push(at);
    free = at;
  }
  return sent;
}

/** Demand with idle spells: bursts of `n` at once every `gapMs`, then a backlog of `backlog` at `t`. */
function demand(bursts: number, n: number, gapMs: number, backlog: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < bursts; b++) for (let i = 0; i < n; i++) out.push(b * gapMs);
  const t = bursts * gapMs;
  for (let i = 0; i < backlog; i++) out.push(t);
  return out;
}

describe('pacing (token bucket bounded by the window)', () => {
  for (const rpm of [50, 137, 600, 1200, 6000, 10_000]) {
    for (const burstSeconds of [undefined, 0.5, 5]) {
      it(`${rpm} RPM, burst ${burstSeconds ?? 'default'}: no 10 s window holds more than the limit's share`, () => {
        const limits: Limits = { rpm, tpm: 1e12, maxConcurrency: 1, burstSeconds };
        const share = rpm / 6;
        const sent = schedule(limits, demand(6, Math.ceil(share / 2), 13_000, Math.ceil(share * 4)));
        const peak = maxInWindow(
          sent.map((t) => [t, 1]),
          10_000,
        );
        assert.ok(peak <= share, `${peak} requests in a 10 s window, share ${share.toFixed(2)}`);
        // above 250 RPM the bucket keeps half the slack free for late requests: (1 + h) / 2 of the share
        if ((1 - DEFAULT_HEADROOM) * share >= 2)
          assert.ok(peak <= ((1 + DEFAULT_HEADROOM) / 2) * share, `peak ${peak} leaves no margin`);
        // the backlog drains at the paced rate: at least 0.95 of the limit
        const backlog = sent.slice(-Math.ceil(share * 4));
        const rate = (backlog.length - 1) / ((backlog.at(-1)! - backlog[0]!) / 60_000);
        assert.ok(rate >= 0.95 * rpm, `backlog drained at ${rate.toFixed(1)} RPM of ${rpm}`);
      });
    }
  }

  it('a 5 s window (bench time x2) holds its share too, tokens included', () => {
    const limits: Limits = { rpm: 1200, tpm: 60_000, maxConcurrency: 1, windowSeconds: 5 };
    // 40 tokens a request: 1,200 RPM and 60k TPM allow 1,500 and 1,200 a minute; tokens bind at 96%
    const sent = schedule(limits, demand(3, 50, 7_000, 400), 40);
    const tokens = maxInWindow(
      sent.map((t) => [t, 40]),
      5_000,
    );
    assert.ok(tokens <= 5_000, `${tokens} tokens in a 5 s window, share 5,000`);
    const requests = maxInWindow(
      sent.map((t) => [t, 1]),
      5_000,
    );
    assert.ok(requests <= 100, `${requests} requests in a 5 s window, share 100`);
  });

  it('the bucket is bounded by the window, never below one request', () => {
    const wide = bucketShape(600, { rpm: 600, tpm: 1, maxConcurrency: 1, burstSeconds: 30 }, true);
    // half of the slack of a 10 s window: (1 - 0.96) / 2 * 100 = 2 requests, not 30 s of quota
    const half = ((1 - DEFAULT_HEADROOM) / 2) * 100;
    assert.ok(Math.abs(wide.capacity - half) < 1e-9, `capacity ${wide.capacity}, expected ${half}`);
    assert.ok(half < 3);
    assert.equal(bucketShape(50, { rpm: 50, tpm: 1, maxConcurrency: 1 }, true).capacity, 1);
  });
});
