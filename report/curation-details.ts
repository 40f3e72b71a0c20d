// What a user needs to judge the curation filters: the templates found in their records, the thresholds
// used (and the real-data figures they were calibrated on), and per drop reason a few example pairs,
// the sample beside the record it matched, template parts greyed out.
import { esc, fmtInt } from './html';
import type { CurationDetails, ExampleRecord } from './report-data';

/** A prompt with its template character ranges wrapped in a greyed span. */
export function greyTemplate(text: string, ranges: readonly [number, number][]): string {
  let out = '';
  let at = 0;
  for (const [s, e] of ranges) {
    if (s < at || e > text.length) continue;
    out += esc(text.slice(at, s)) + `<span class="tpl">${esc(text.slice(s, e))}</span>`;
    at = e;
  }
  return out + esc(text.slice(at));
}

function record(label: string, r: ExampleRecord): string {
  return `<div class="rec"><div class="rec-label">${esc(label)}</div><pre class="prompt">${greyTemplate(r.prompt, r.template)}</pre><pre class="response">${esc(r.response)}</pre></div>`;
}

export function curationDetailsHtml(
  cycle: number,
  drops: Record<string, number>,
  d: CurationDetails,
): string {
  const th = d.calibration
    ? `Thresholds calibrated on the train split: Jaccard ${d.thresholds.threshold} (real nearest-neighbour p${Math.round(100 * d.calibration.percentile)} ${d.calibration.realJaccard}), ROUGE-L ${d.thresholds.rougeLThreshold} (real p${Math.round(100 * d.calibration.percentile)} ${d.calibration.realRougeL}).`
    : `Absolute thresholds: Jaccard ${d.thresholds.threshold}, ROUGE-L ${d.thresholds.rougeLThreshold}.`;
  const templates = d.templates.length
    ? `<table class="templates"><thead><tr><th>category</th><th>records</th><th>with template</th><th>template share of prompt words</th><th>template</th></tr></thead><tbody>${d.templates
        .map(
          (t) =>
            `<tr><th scope="row">${esc(t.category === '*' ? 'all categories' : t.category)}</th><td>${fmtInt(t.records)}</td><td>${fmtInt(t.matching)}</td><td>${Math.round(100 * t.templateShare)}%</td><td><pre class="tpl">${esc(t.spans.join('\n…\n'))}</pre></td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="note">No prompt templates found in the train split: whole prompts are compared.</p>';
  const reasons = Object.keys(drops).sort();
  const examples = reasons
    .map((reason) => {
      const list = d.examples[reason] ?? [];
      const pairs = list
        .map(
          (e) =>
            `<div class="pair">${record('dropped sample', e.sample)}${e.matched ? record(`matched ${e.matched.kind}${e.similarity !== undefined ? ` (similarity ${e.similarity})` : ''}`, e.matched) : ''}</div>`,
        )
        .join('');
      return `<details class="drop-reason" data-reason="${esc(reason)}"><summary>${esc(reason)}: ${fmtInt(drops[reason] ?? 0)} dropped</summary>${pairs || '<p class="note">No examples recorded.</p>'}</details>`;
    })
    .join('');
  return `<div class="curation-details" data-cycle="${cycle}"><h3>Synthesis after cycle ${cycle}</h3><p class="note">${esc(th)}</p>${templates}${examples}</div>`;
}
