// docs/study.md's cost estimate of the four paper studies, recomputed from the example study files (cells,
// cycles, volumes, responses per prompt, judges) and the pricing table, so the two cannot drift apart.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { priceOf } from '../../../activities/llm/pricing';
import { loadStudyFile } from '../../../client/study-file';
import type { ServiceModel } from '../../../common/config';

// the docs' assumptions: 80 % acceptance, 150 / 250 tokens per generated sample, 1,200 / 250 per judge call,
// 3 calls per answer and judge (single grade + pairwise in both orders); No Robots' test prompts per task
const ACCEPTANCE = 0.8;
const TEST_PROMPTS: Record<string, number> = { Summarize: 25, Classify: 16, Coding: 16, 'Closed QA': 15 };
const usd = (m: ServiceModel, input: number, output: number) => {
  const p = priceOf(m);
  return (input * p.inputPerMTok + output * p.outputPerMTok) / 1e6;
};
const fmt = (n: number) => `$${Math.round(n).toLocaleString('en-US')}`;

describe('docs/study.md cost estimate', () => {
  it('matches the example studies and the pricing table', async () => {
    const doc = await readFile('docs/study.md', 'utf8');
    let all = 0;
    for (const [file, label] of [
      ['examples/study-paper-summarization.yaml', 'summarization (256k, 10 cyc.)'],
      ['examples/study-paper-classification.yaml', 'classification (128k, 9 cyc.)'],
      ['examples/study-paper-coding.yaml', 'coding (128k, 9 cyc.)'],
      ['examples/study-paper-table1.yaml', 'closed QA (128k, 9 cyc.)'],
    ] as const) {
      const study = await loadStudyFile(file);
      let synthesis = 0;
      let judging = 0;
      for (const { config: c } of study.cells) {
        const generated = c.synthesis.maxVolume / ACCEPTANCE;
        synthesis += usd(c.synthesis.teacher, generated * 150, generated * 250);
        const calls =
          TEST_PROMPTS[c.dataset.categories![0]!]! *
          c.inference.responsesPerPrompt *
          (c.evaluation.pairwise ? 3 : 1) *
          c.evaluation.repeats;
        const perEvaluation = c.evaluation.judges.reduce((s, j) => s + calls * usd(j, 1200, 250), 0);
        judging += perEvaluation * (c.maxCycles + 2); // the baseline, the base student, every cycle
      }
      const batch = study.cells.every((x) => x.config.synthesis.teacher.batch) ? 0.5 : 1;
      const row = `| ${label} | ${fmt(synthesis)} / ${fmt(synthesis * batch)} | ${fmt(judging)} / ${fmt(judging * batch)} | ${fmt(synthesis + judging)} / ${fmt((synthesis + judging) * batch)} |`;
      const table = doc.replace(/ +\|/g, ' |').replace(/\| +/g, '| ');
      assert.ok(table.includes(row), `docs/study.md lacks the row ${row}`);
      assert.ok((synthesis + judging) * batch <= study.maxUsd, `${file}: budget below the batch estimate`);
      all += synthesis + judging;
    }
    const thousands = (n: number) => `$${(Math.round(n / 1000) * 1000).toLocaleString('en-US')}`;
    assert.match(
      doc,
      new RegExp(
        `All four tasks: about \\${thousands(all / 2)} with the batch API, \\${thousands(all)} without`,
      ),
    );
  });
});
