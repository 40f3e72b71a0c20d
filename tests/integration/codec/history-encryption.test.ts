// With the codec on client and worker, what the Temporal server stores holds no plaintext; an operator
// with the token reads it back through the codec server (the Temporal UI's path).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { temporalCliPath } from '../../../client/dev-server';
import { AesGcmCodec } from '../../../activities/codec/aes-gcm-codec';
import { createCodecServer } from '../../../activities/codec/codec-server';
import { payloadsFromJson, payloadsToJson } from '../../../activities/codec/payload-json';
import type { echoWorkflow } from './echo-workflow';

const PROMPT = `PRIVATE-PROMPT-${randomUUID()}`;
const NOTE = `CONFIG-SECRET-${randomUUID()}`;
const UI = 'http://localhost:8233';
const TOKEN = randomBytes(24).toString('hex');
const codec = new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }]);

let env: TestWorkflowEnvironment;
let codecServer: Server;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      extraArgs: ['--log-level', 'error'],
    },
  });
  codecServer = createCodecServer({ codec, token: TOKEN, allowedOrigins: [UI] });
  await new Promise<void>((resolve) => codecServer.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise<void>((resolve) => codecServer?.close(() => resolve()));
  await env?.teardown();
});

test('history holds only ciphertext; the codec server decrypts it for the operator', async () => {
  const dataConverter = { payloadCodecs: [codec] };
  const taskQueue = `codec-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: new URL('./echo-workflow.ts', import.meta.url).pathname,
      logger: new DefaultLogger('WARN'),
    }),
    activities: { answer: async (prompt: string) => `ANSWER-TO ${prompt}` },
    dataConverter,
  });
  const client = new Client({
    connection: env.connection,
    namespace: env.namespace ?? 'default',
    dataConverter,
  });
  const workflowId = `codec-test-${randomUUID()}`;

  const result = await worker.runUntil(
    client.workflow.execute<typeof echoWorkflow>('echoWorkflow', {
      taskQueue,
      workflowId,
      args: [{ prompt: PROMPT, config: { note: NOTE } }],
    }),
  );
  assert.equal(result.response, `ANSWER-TO ${PROMPT} / ${NOTE}`);

  // The history exactly as the server returns it, without any codec.
  const { history } = await env.client.workflowService.getWorkflowExecutionHistory({
    namespace: env.namespace ?? 'default',
    execution: { workflowId },
  });
  const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history!).finish()).toString('latin1');
  for (const secret of [PROMPT, NOTE, 'ANSWER-TO'])
    assert.ok(!raw.includes(secret), `history contains ${secret}`);
  const started = history!.events!.find((e) => e.workflowExecutionStartedEventAttributes)!;
  const input = started.workflowExecutionStartedEventAttributes!.input!.payloads!;
  assert.equal(Buffer.from(input[0]!.metadata!.encoding!).toString(), 'binary/encrypted');
  assert.ok(
    history!.events!.some((e) => e.activityTaskScheduledEventAttributes),
    'the activity ran and is in history',
  );

  // A client without the key cannot read the result.
  await assert.rejects(env.client.workflow.getHandle(workflowId).result());

  // The UI path: the browser posts the stored payloads to the codec server with the operator's token.
  const base = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;
  const res = await fetch(`${base}/decode`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/json',
      'X-Namespace': 'default',
      Origin: UI,
    },
    body: JSON.stringify(payloadsToJson(input)),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), UI);
  const [decoded] = payloadsFromJson(await res.json());
  assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), { prompt: PROMPT, config: { note: NOTE } });

  const denied = await fetch(`${base}/decode`, {
    method: 'POST',
    body: JSON.stringify(payloadsToJson(input)),
  });
  assert.equal(denied.status, 401);
});
