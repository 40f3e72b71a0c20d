// Does a migration work? Runs the demo's migration (`npm run demo`'s program) once per seed, each with its
// own state directory and migration name, one after another on the embedded dev server, and compares the
// base student with the migration's final (best) cycle on the deterministic reference metric and on the
// judge's score. Progress goes to stderr; stdout gets one JSON line:
//   {"seeds":[{"seed":1,"minutes":..,"deterministic":{"base":..,"final":..},"judge":{"base":..,"final":..}},..],
//    "deterministic":{"deltaMean":..,"deltaSd":..},"judge":{"deltaMean":..,"deltaSd":..}}
//   npm run bench:efficacy [-- --seeds 1,2,3]
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { availableCores } from '../activities/cpu-cores';
import { parseReportData } from '../report/report-schema';
import { bestCycle, targetValue } from '../report/tables';
import type { ReportData } from '../report/report-data';

const { values } = parseArgs({ options: { seeds: { type: 'string', default: '1,2,3' } } });
const seeds = values.seeds.split(',').map(Number);
const root = path.resolve(import.meta.dirname, '..');

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

async function runDemo(seed: number, home: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'demo', 'run-demo.ts')], {
      cwd: root,
      env: {
        ...process.env,
        LLAMADUO_HOME: home,
        DEMO_SEED: String(seed),
        DEMO_NAME: `efficacy-seed-${seed}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = (b: Buffer) =>
      process.stderr.write(
        b
          .toString()
          .split('\n')
          .map((l) => (l ? `[seed ${seed}] ${l}` : l))
          .join('\n'),
      );
    child.stdout.on('data', prefix);
    child.stderr.on('data', prefix);
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function readReport(home: string): Promise<ReportData> {
  const dir = path.join(home, 'reports');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.html'));
  if (files.length !== 1) throw new Error(`expected one report in ${dir}, found ${files.length}`);
  const html = await readFile(path.join(dir, files[0]!), 'utf8');
  const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!json) throw new Error(`${files[0]}: no report data`);
  // scriptJson escapes '<' as \u003c, which JSON.parse reads back
  return parseReportData(json, path.join(dir, files[0]!));
}

interface Pair {
  base: number;
  final: number;
}
interface SeedResult {
  seed: number;
  minutes: number;
  deterministic: Pair;
  judge: Pair;
  [extra: string]: unknown;
}

const results: SeedResult[] = [];
for (const seed of seeds) {
  const home = await mkdtemp(path.join(os.tmpdir(), `llamaduo-efficacy-${seed}-`));
  const load0 = os.loadavg()[0]!;
  const t0 = Date.now();
  const code = await runDemo(seed, home);
  const minutes = (Date.now() - t0) / 60_000;
  if (code !== 0) throw new Error(`seed ${seed}: the demo exited ${code} (state in ${home})`);
  const data = await readReport(home);
  // the order the workflow promotes by (common/best-cycle): judge score, then exact match, then the later cycle
  const best = bestCycle(data);
  if (!data.base || !best) throw new Error(`seed ${seed}: the report has no base row or no cycle`);
  const ref = (s: ReportData['base']) => s?.reference?.mean ?? NaN;
  results.push({
    seed,
    minutes: round(minutes, 1),
    deterministic: { base: ref(data.base), final: ref(best.evaluation) },
    judge: {
      base: round(targetValue(data.base, data) ?? NaN),
      final: round(targetValue(best.evaluation, data) ?? NaN),
    },
    metric: data.base.reference?.metric,
    finalCycle: best.cycle,
    cycles: data.cycles.map((c) => ({
      cycle: c.cycle,
      deterministic: ref(c.evaluation),
      judge: round(targetValue(c.evaluation, data) ?? NaN),
    })),
    teacher: {
      deterministic: ref(data.teacher),
      judge: round(data.teacher ? (targetValue(data.teacher, data) ?? NaN) : NaN),
    },
    testSamples: data.base.reference?.samples,
    loadAvg: { start: round(load0, 1), end: round(os.loadavg()[0]!, 1) },
  });
  process.stderr.write(`[bench] seed ${seed}: ${JSON.stringify(results.at(-1))}\n`);
}

const summary = (pick: (r: SeedResult) => Pair) => {
  const { mean, sd } = meanSd(results.map((r) => pick(r).final - pick(r).base));
  return { deltaMean: round(mean), deltaSd: round(sd) };
};
const deterministic = summary((r) => r.deterministic);
console.log(
  JSON.stringify({
    seeds: results,
    deterministic: {
      ...deterministic,
      finalBeatsBaseBySdInEverySeed: results.every(
        (r) => r.deterministic.final - r.deterministic.base > deterministic.deltaSd,
      ),
    },
    judge: summary((r) => r.judge),
    // the cores this process may use (cgroup CPU quota included), not the host's count
    cores: availableCores(),
  }),
);
