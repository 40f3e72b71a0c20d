// npm run test:storage: starts SeaweedFS (seaweedfs.ts), runs tests/storage/*.test.ts against it, stops it,
// and ends with `storage: seaweedfs <version>, <n> passed, <m> failed`.
import { existsSync } from 'node:fs';
import { runTapSuite } from '../helpers/run-tap-suite';
import { startSeaweed, WEED_BIN } from './seaweedfs';

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
let result = { passed: 0, failed: 1 };
try {
  result = await runTapSuite({
    dir: import.meta.dirname,
    env: {
      LLAMADUO_TEST_S3_ENDPOINT: s3.endpoint,
      LLAMADUO_TEST_S3_ADMIN_KEY: s3.admin.accessKeyId,
      LLAMADUO_TEST_S3_ADMIN_SECRET: s3.admin.secretAccessKey,
      LLAMADUO_TEST_S3_READER_KEY: s3.reader.accessKeyId,
      LLAMADUO_TEST_S3_READER_SECRET: s3.reader.secretAccessKey,
    },
  });
} finally {
  await s3.stop();
}
console.log(`storage: seaweedfs ${s3.version}, ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);
