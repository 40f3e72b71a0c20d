// The charting library and the few lines of browser code that draw the report's charts. Chart.js is
// inlined from node_modules so the HTML file works offline, attached to an email or a CI artifact.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

let chartJs: string | undefined;

/** Chart.js's UMD build (defines window.Chart), read once. */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    const entry = createRequire(import.meta.url).resolve('chart.js');
    chartJs = readFileSync(path.join(path.dirname(entry), 'chart.umd.min.js'), 'utf8');
    if (/<\/script/i.test(chartJs))
      throw new Error('chart.umd.min.js contains "</script" and cannot be inlined');
  }
  return chartJs;
}

/** Reads the chart specs embedded in the page and draws each on its canvas. */
export const BOOT_SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById('report-charts').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = '#3b4351';
  // Reference series (e.g. the teacher's level) are explained in the caption, not the legend.
  Chart.defaults.plugins.legend.labels.filter = function (item, data) {
    return !data.datasets[item.datasetIndex].hideInLegend;
  };
  specs.forEach(function (spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas) throw new Error('report: no canvas for chart ' + spec.id);
    new Chart(canvas, spec.config);
  });
})();
`;
