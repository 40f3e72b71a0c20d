// The failure paragraph, fed the chains @temporalio/client throws: each built as the worker reports it
// (errorToFailure) and read back as the client does (failureToError) inside a WorkflowFailedError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  defaultFailureConverter,
  defaultPayloadConverter,
  RetryState,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { errorParagraph, failureParagraph, summarizeFailure } from '../../../cli/failure-paragraph';

/** Over the wire and back, as a failed workflow's failure reaches a client. */
function asClientSees(cause: Error): WorkflowFailedError {
  const proto = defaultFailureConverter.errorToFailure(cause, defaultPayloadConverter);
  const back = defaultFailureConverter.failureToError(proto, defaultPayloadConverter);
  return new WorkflowFailedError('Workflow execution failed', back, RetryState.NON_RETRYABLE_FAILURE);
}

function activityFailed(activityType: string, root: Error): ActivityFailure {
  return new ActivityFailure(
    'Activity task failed',
    activityType,
    '7',
    RetryState.NON_RETRYABLE_FAILURE,
    'worker@host',
    root,
  );
}

const NO_KEY =
  'no API key for openai model "gpt-4o": set the environment variable OPENAI_API_KEY on the worker';

const noStack = (text: string) => {
  assert.doesNotMatch(text, /^\s+at /m, 'no stack frames');
  assert.doesNotMatch(text, /\n/, 'one paragraph, one line');
};

describe('failure paragraph', () => {
  it('names the stage and activity, quotes the root ApplicationFailure, says what to do', () => {
    const err = asClientSees(
      activityFailed('teacherBaseline', ApplicationFailure.nonRetryable(NO_KEY, 'MissingCredentials')),
    );
    assert.ok(err.cause instanceof ActivityFailure, 'the client sees an ActivityFailure');
    assert.ok(err.cause.cause instanceof ApplicationFailure, '... caused by an ApplicationFailure');
    assert.match(err.cause.cause.stack ?? '', /\n\s+at /, 'the chain carries a stack trace');

    const text = failureParagraph(err, {
      workflowId: 'llamaduo-support-1',
      logFile: '/tmp/x/llamaduo.log',
      uiLink: 'http://127.0.0.1:8233/namespaces/default/workflows/llamaduo-support-1',
    });
    noStack(text);
    assert.match(
      text,
      /^Migration llamaduo-support-1 failed in the teacher-baseline stage \(activity teacherBaseline\): /,
    );
    assert.ok(text.includes(NO_KEY), text);
    assert.match(text, /Set the environment variable it names/);
    assert.match(text, /\/tmp\/x\/llamaduo\.log/);
    assert.match(text, /http:\/\/127\.0\.0\.1:8233\//);
    // the wrappers' own messages are not the cause
    assert.doesNotMatch(text, /Activity task failed|Workflow execution failed/);
  });

  it('a failure inside the synthesis child workflow names the synthesize stage', () => {
    const root = ApplicationFailure.create({
      type: 'LlmError:rate-limited',
      message: 'openai gpt-4o: 429 rate limited: slow down',
      nonRetryable: true,
    });
    const child = new ChildWorkflowFailure(
      'default',
      { workflowId: 'm/synthesis-1', runId: 'r' },
      'synthesisWorkflow',
      RetryState.NON_RETRYABLE_FAILURE,
      activityFailed('synthesizeShard', root),
    );
    const s = summarizeFailure(asClientSees(child));
    assert.equal(s.what, 'the synthesize stage (activity synthesizeShard)');
    assert.equal(s.cause, 'openai gpt-4o: 429 rate limited: slow down');
    assert.equal(s.type, 'LlmError:rate-limited');
    assert.match(s.advice, /rpm\/tpm\/concurrency/);
  });

  it('a 401 from the provider points at the key; a thrown plain Error keeps its message', () => {
    const auth = ApplicationFailure.create({
      type: 'LlmError:other',
      message: 'openai gpt-4o: 401 authentication failed (check the API key variable)',
      nonRetryable: true,
    });
    assert.match(
      failureParagraph(asClientSees(activityFailed('judgeShard', auth))),
      /Check the API key variable/,
    );
    const plain = new Error("ENOENT: no such file or directory, open '/data/x.jsonl'");
    const text = failureParagraph(asClientSees(activityFailed('ingestCoverage', plain)));
    noStack(text);
    assert.match(text, /^The ingest stage \(activity ingestCoverage\) failed: ENOENT: no such file/);
  });

  it('a failure the workflow raised itself uses the stage the progress query showed', () => {
    const err = asClientSees(
      ApplicationFailure.nonRetryable('synthesis for cycle 2 accepted no samples', 'SynthesisFailed'),
    );
    const text = failureParagraph(err, { workflowId: 'w', stage: 'synthesize' });
    assert.match(
      text,
      /^Migration w failed in the synthesize stage: synthesis for cycle 2 accepted no samples\./,
    );
  });

  it('timeouts and termination say so, multi-line causes fold into one line', () => {
    const timeout = asClientSees(
      activityFailed('fineTune', new TimeoutFailure(undefined, undefined, 'HEARTBEAT')),
    );
    assert.match(
      failureParagraph(timeout),
      /fine-tune stage \(activity fineTune\) failed: it timed out \(heartbeat timeout\)/,
    );
    assert.match(failureParagraph(timeout), /worker serving this stage/);
    const term = new WorkflowFailedError(
      'Workflow execution terminated',
      new TerminatedFailure('by ops'),
      RetryState.NON_RETRYABLE_FAILURE,
    );
    assert.match(failureParagraph(term), /it was terminated: by ops/);
    const multi = asClientSees(
      activityFailed(
        'ingestCoverage',
        ApplicationFailure.nonRetryable(
          'bad dataset:\n  x.jsonl:3 field prompt\n  x.jsonl:9 field response',
          'InvalidDataset',
        ),
      ),
    );
    const text = failureParagraph(multi);
    noStack(text);
    assert.match(text, /bad dataset: x\.jsonl:3 field prompt x\.jsonl:9 field response\. Fix the dataset/);
  });

  it('any other error that ends a command or the demo: one line with its gist and the log file', () => {
    // the dev server's start error carries its output; the last line is the one that says why
    const server = new Error(
      'temporal dev server exited (1):\n{"level":"info","msg":"starting"}\nlisten tcp 127.0.0.1:7233: bind: address already in use\n',
    );
    const text = errorParagraph(server, '/x/llamaduo.log');
    noStack(text);
    assert.equal(
      text,
      'error: temporal dev server exited (1): listen tcp 127.0.0.1:7233: bind: address already in use (details: /x/llamaduo.log)',
    );
    assert.equal(errorParagraph(new Error('no such file: m.gguf')), 'error: no such file: m.gguf');
    assert.equal(errorParagraph('plain'), 'error: plain');
    // a failed workflow still gets the full paragraph (what failed, cause, what to do)
    const failed = asClientSees(
      activityFailed(
        'teacherBaseline',
        ApplicationFailure.nonRetryable('OPENAI_API_KEY is not set', 'MissingCredentials'),
      ),
    );
    assert.match(
      errorParagraph(failed, '/x/l.log'),
      /teacher-baseline stage.*Set the environment variable.*\/x\/l\.log/,
    );
  });
});
