// npm run test:storage: starts SeaweedFS (seaweedfs.ts), runs tests/storage/*.test.ts against it, stops it,
// and ends with `storage: seaweedfs <version>, <n> passed, <m> failed`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { startSeaweed, WEED_BIN } from './seaweedfs';

const here = import.meta.dirname;
if (!existsSync(WEED_BIN)) {
  console.error(`${WEED_BIN} is missing: run \`bash scripts/setup-seaweedfs.sh\` first`);
  console.log('storage: seaweedfs missing, 0 passed, 1 failed');
  process.exit(1);
}

const t0 = Date.now();
const s3 = await startSeaweed();
console.log(
  `[storage] seaweedfs ${s3.version} serving S3 at ${s3.endpoint} in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
);
let passed = 0;
let failed = 0;
try {
  const files = (await readdir(here))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join(here, f));
  const only = process.argv.slice(2);
  const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
  const tap = path.join(s3.dir, 'results.tap');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      'tsx',
      [
        '--test',
        '--test-concurrency=1',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${tap}`,
        ...selected,
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          LLAMADUO_TEST_S3_ENDPOINT: s3.endpoint,
          LLAMADUO_TEST_S3_ADMIN_KEY: s3.admin.accessKeyId,
          LLAMADUO_TEST_S3_ADMIN_SECRET: s3.admin.secretAccessKey,
          LLAMADUO_TEST_S3_READER_KEY: s3.reader.accessKeyId,
          LLAMADUO_TEST_S3_READER_SECRET: s3.reader.secretAccessKey,
        },
      },
    );
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const summary = await readFile(tap, 'utf8').catch(() => '');
  passed = Number(/^# pass (\d+)/m.exec(summary)?.[1] ?? 0);
  failed = Number(/^# fail (\d+)/m.exec(summary)?.[1] ?? 0);
  if (code !== 0 && failed === 0) failed = 1;
} finally {
  await s3.stop();
}
console.log(`storage: seaweedfs ${s3.version}, ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
