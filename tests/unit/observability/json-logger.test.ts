import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatLogEntry } from '../../../workers/observability/json-logger';

describe('JSON log lines', () => {
  it('puts the context at the top level and survives what the SDK logs (cycles, bigints, errors)', () => {
    const options: Record<string, unknown> = { taskQueue: 'llamaduo-gpu', build: () => 1 };
    options.self = options;
    const line = formatLogEntry({
      level: 'INFO',
      message: 'Activity completed',
      timestampNanos: 1_764_584_000_000_000_000n,
      meta: { migrationId: 'support-bot', cycle: 2, options, bytes: 12n, error: new Error('boom') },
    });
    const j = JSON.parse(line) as Record<string, unknown>;
    assert.equal(j.time, '2025-12-01T10:13:20.000Z');
    assert.equal(j.level, 'info');
    assert.equal(j.migrationId, 'support-bot');
    assert.equal(j.cycle, 2);
    assert.equal(j.bytes, '12');
    assert.match(String(j.error), /^Error: boom/);
    assert.deepEqual(j.options, { taskQueue: 'llamaduo-gpu', self: '[circular]' });
    assert.ok(!line.includes('\n'));
  });
});
