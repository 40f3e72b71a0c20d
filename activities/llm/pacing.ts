// The pacing rule both limiters follow (limiter.ts in process, shared-limiter-scripts.ts in Redis): a
// generic cell-rate algorithm (GCRA, the token bucket written as a "theoretical arrival time") per budget,
// whose shape is bounded so that no window of `windowSeconds` lets more go than the limit's share of it.
//
// A bucket of capacity B refilled at r lets at most B + r*w go in any window of w seconds. The limiter
// refills at `headroom` of the limit (r = h*L/60) and bounds the bucket to half of the window's slack,
// B <= (1-h)/2 * L*w/60, so even after an idle spell (full bucket) a window holds at most (1+h)/2 of the
// limit's share; the other half of the slack absorbs requests that leave a process late and arrive bunched.
// Requests are whole: for a low limit (50 RPM: 8.3 a window) the rate is also held below
// (floor(share) + 1 - B) / w, so no window can hold one request more than the share.
//
// Requests are scheduled, not polled: a request gets the next slot (a send time) as soon as that slot is at
// most RESERVE_AHEAD_MS away, and waits for it locally. A poll that comes late therefore loses no slot, so
// the limiter keeps up with its refill rate exactly (a polled bucket of one request loses every late poll).
// A slot whose process wakes up later than lateToleranceMs after it (a stalled event loop) is forfeited and
// the request asks again: otherwise every slot of the stall would go at once, a burst no bucket bounds.
import type { Limits } from './limiter';

export const DEFAULT_HEADROOM = 0.96;
export const DEFAULT_BURST_SECONDS = 0.1;
export const DEFAULT_WINDOW_SECONDS = 10;
/** how far ahead a slot may be handed out: longer than a late poll, short enough that a 429 pause bites */
export const RESERVE_AHEAD_MS = 500;

export interface BucketShape {
  /** bucket size (requests or tokens), at least 1 */
  capacity: number;
  /** refill per ms at full pace */
  perMs: number;
}

/** The shape of one budget of `perMinute` (requests when `whole`, else tokens) under `limits`' settings. */
export function bucketShape(perMinute: number, limits: Limits, whole: boolean): BucketShape {
  const h = limits.headroom ?? DEFAULT_HEADROOM;
  const burst = limits.burstSeconds ?? DEFAULT_BURST_SECONDS;
  const win = limits.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const share = (perMinute * win) / 60;
  const capacity = Math.max(1, Math.min((burst * h * perMinute) / 60, ((1 - h) / 2) * share));
  let perMs = (h * perMinute) / 60_000;
  if (whole) {
    if (share >= 1) perMs = Math.min(perMs, (Math.floor(share) + 1 - capacity) / (win * 1000));
    // a hair under, so that a window whose length is a whole number of intervals (600 RPM at 0.96: 96
    // a window) never holds one more slot at its edge
    perMs *= 0.999;
  }
  return { capacity, perMs };
}

/**
 * How late a request may go after its slot: the time of the slack half the window keeps for bunching
 * ((1-h)/2 of the share, at least one request), so a stalled process releases no more than that at once.
 */
export function lateToleranceMs(rpm: number, limits: Limits, pace: number): number {
  const h = limits.headroom ?? DEFAULT_HEADROOM;
  const win = limits.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const shape = bucketShape(rpm, limits, true);
  return Math.max(1, ((1 - h) / 2) * ((rpm * win) / 60)) / (shape.perMs * pace);
}

/** A budget's state: the time its bucket will be full again (it is full whenever tat <= now). */
export interface Gcra {
  tat: number;
}

/** The earliest time a request costing `cost` may go (a cost above the capacity waits for a full bucket). */
export function earliest(g: Gcra, shape: BucketShape, pace: number, cost: number): number {
  const interval = 1 / (shape.perMs * pace);
  return g.tat - (shape.capacity - Math.min(cost, shape.capacity)) * interval;
}

/** Charges `cost` to the bucket for a request going at `at`. */
export function charge(g: Gcra, shape: BucketShape, pace: number, cost: number, at: number): void {
  g.tat = Math.max(g.tat, at) + cost / (shape.perMs * pace);
}

/** Empties the bucket at `now` (after a 429). */
export function empty(g: Gcra, shape: BucketShape, pace: number, now: number): void {
  g.tat = Math.max(g.tat, now + shape.capacity / (shape.perMs * pace));
}
