// Table 2 / Figure 4 of a study: the best local model against each service LLM at its own price, with the
// config's daily tokens and GPU price; the report page carries every section.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EconomicsConfig } from '../../../common/economics';
import { fig4Charts, studyCosts } from '../../../report/study-costs';
import type { CellData, StudyData } from '../../../report/study-data';
import { renderStudyReport } from '../../../report/study-render';
import { study } from './study-fixture';

const cell = (key: string, over: Partial<CellData> = {}): CellData => ({
  key,
  scores: [],
  tokens: [],
  generatorModel: null,
  economics: null,
  fineTuneSeconds: 0,
  ...over,
});

describe('study Table 2 / Figure 4: break-even per service LLM', () => {
  const economics = EconomicsConfig.parse({
    dailyInputTokens: 2e6,
    dailyOutputTokens: 1e6,
    gpuUsdPerHour: 2,
    servingGpus: 1,
  });
  const data: StudyData = {
    cells: [
      cell('tiny.gpt', {
        generatorModel: { provider: 'openai', model: 'gpt-4o' } as CellData['generatorModel'],
      }),
      cell('tiny.claude', {
        generatorModel: { provider: 'anthropic', model: 'claude-3-5-sonnet' } as CellData['generatorModel'],
      }),
      // the best local row (small, 72 with claude's data): 1.5 GPU hours of fine-tuning
      cell('small.claude', { economics, fineTuneSeconds: 5400 }),
    ],
  };

  it("prices each service row at its own model, the local row at the config's GPU price", () => {
    const [c] = studyCosts(study, data);
    assert.ok(c);
    assert.equal(c.configured, true);
    assert.deepEqual(c.local.model, 'small');
    assert.equal(c.local.gpuUsd, 3); // 1.5 h × $2
    assert.equal(c.local.serving.fineTuningUsd, 0.5 + 3); // the cell's service spend + GPU
    assert.equal(c.local.serving.powerUsdPerServerMonth, 2 * 24 * 30); // rented around the clock
    assert.deepEqual(
      c.rows.map((r) => [
        r.service,
        r.pricing.inputUsdPerMTok,
        r.pricing.outputUsdPerMTok,
        r.row.apiUsdPerMonth,
      ]),
      [
        ['gpt', 5, 15, (2 * 5 + 1 * 15) * 30],
        ['claude', 3, 15, (2 * 3 + 1 * 15) * 30],
      ],
    );
    // API 750/month vs 1440/month rent: renting a GPU never pays off against GPT-4o at this volume
    assert.equal(c.rows[0]!.row.breakEvenMonths, null);
  });

  it('owned servers pay off; with no economics set, the paper light workload on one owned L4', () => {
    const owned = { ...economics, serving: 'owned' as const, dailyInputTokens: 10e6 };
    const [c] = studyCosts(study, {
      cells: [cell('small.claude', { economics: owned, fineTuneSeconds: 0 })],
    });
    // GPT-4o: 10M × $5 + 1M × $15 = $65/day = $1,950/month; local $2,539 + $0.50 up front, $30/month
    const gpt = c!.rows.find((r) => r.service === 'gpt')!;
    assert.equal(gpt.priced, false); // 'gpt' is not in the pricing table: priced as GPT-4o
    assert.ok(Math.abs(gpt.row.breakEvenMonths! - 2539.5 / (1950 - 30)) < 1e-9);
    const [d] = studyCosts(study, { cells: [] });
    assert.equal(d!.configured, false);
    assert.equal(d!.workload.inputTokensPerDay, 10e6);
    assert.equal(d!.local.serving.serverUsd, 2539);
  });

  it('Figure 4: the local line and a dashed line per service LLM', () => {
    const [chart] = fig4Charts(studyCosts(study, data));
    assert.deepEqual(
      chart!.config.data.datasets.map((d) => d.label),
      ['local: small', 'gpt API', 'claude API'],
    );
  });

  it('the page has Table 1, Figure 2, Figure 3, Table 2 and Figure 4 sections', () => {
    const html = renderStudyReport(study, '2026-12-01T00:00:00Z', {
      cells: [
        ...data.cells,
        cell('small.gpt', {
          scores: [{ cycle: 0, syntheticSamples: 0, judge: 'j1', similarity: [40], precision: [45] }],
        }),
      ],
    });
    for (const id of ['table1-qa', 'fig2', 'fig3', 'table2-qa', 'fig4'])
      assert.match(html, new RegExp(`id="${id}"`));
    assert.match(html, /<canvas id="fig3-0"/);
    assert.match(html, /<tr data-service="claude">/);
    // without the cells' data, Figure 3 says so and there is no Table 4
    const bare = renderStudyReport(study, '2026-12-01T00:00:00Z');
    assert.match(bare, /No per-sample scores were read from the cells/);
    assert.doesNotMatch(bare, /id="table4-/);
    // with no economics the GPU price is an assumed default, and the page says how to set it; with economics
    // it is the configured one
    assert.match(bare, /\/h \(an assumed default price: set economics\.gpuUsdPerHour\)/);
    assert.doesNotMatch(html, /assumed default price/);
  });
});
