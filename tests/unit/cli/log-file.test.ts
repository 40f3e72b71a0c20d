// The log file keeps what the console leaves out: SDK log lines and whole failure chains with stack traces.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { LogFile, logFilePath } from '../../../cli/log-file';

describe('log file', () => {
  it('defaults under LLAMADUO_HOME, LLAMADUO_LOG_FILE overrides', () => {
    assert.equal(logFilePath({ LLAMADUO_HOME: '/h' }), '/h/logs/llamaduo.log');
    assert.equal(logFilePath({ LLAMADUO_HOME: '/h', LLAMADUO_LOG_FILE: '/x/y.log' }), '/x/y.log');
  });

  it('writes SDK entries at or above its level, and failure chains with every stack; mirrors with --verbose', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-log-'));
    try {
      const mirrored: string[] = [];
      const log = new LogFile({
        file: path.join(dir, 'sub', 'l.log'),
        level: 'INFO',
        mirror: (t) => mirrored.push(t),
      });
      const logger = log.logger();
      logger.debug('not written');
      logger.warn('No activities registered, not polling for activity tasks', {
        taskQueue: 'llamaduo-data',
        n: 3n,
      });
      const root = ApplicationFailure.nonRetryable('no API key for openai', 'MissingCredentials');
      log.failure(
        'migration m ended FAILED',
        new ActivityFailure(
          'Activity task failed',
          'teacherBaseline',
          '1',
          RetryState.NON_RETRYABLE_FAILURE,
          'w',
          root,
        ),
      );
      const text = await readFile(log.file, 'utf8');
      assert.doesNotMatch(text, /not written/);
      assert.match(
        text,
        /^\S+Z WARN {2}No activities registered, not polling for activity tasks \{"taskQueue":"llamaduo-data","n":"3"\}$/m,
      );
      assert.match(
        text,
        /ERROR migration m ended FAILED\n {2}error: ActivityFailure: Activity task failed\n\s+at /,
      );
      assert.match(text, /"activityType":"teacherBaseline"/);
      assert.match(text, /caused by: ApplicationFailure: no API key for openai\n\s+at /);
      assert.match(text, /"type":"MissingCredentials"/);
      assert.equal(mirrored.join('\n') + '\n', text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
