// The live view on a terminal (replayed through a small VT100 screen model) and in a log (plain lines).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LiveView, type ViewOutput } from '../../../cli/live-view';

const ESC = '\x1b';

class Capture implements ViewOutput {
  chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
    readonly rows = 40,
  ) {}
  write(text: string) {
    this.chunks.push(text);
    return true;
  }
  get text() {
    return this.chunks.join('');
  }
}

/** What a terminal shows after these bytes: handles \r, \n, ESC[nA (up), ESC[J (clear to end), wrapping. */
function screen(bytes: string, columns = 80): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i]!;
    if (ch === '\x1b') {
      const m = new RegExp(`^${ESC}\\[(\\d*)([A-Za-z])`).exec(bytes.slice(i));
      assert.ok(m, `unknown escape at ${i}`);
      const n = Number(m[1] || 1);
      if (m[2] === 'A') row = Math.max(0, row - n);
      else if (m[2] === 'J') {
        lines[row] = lines[row]!.slice(0, col);
        lines.length = row + 1;
      } else assert.fail(`unexpected escape ${m[0]}`);
      i += m[0].length - 1;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      lines[row] ??= '';
    } else {
      if (col >= columns) {
        row++;
        col = 0;
        lines[row] ??= '';
      }
      const l = lines[row]!.padEnd(col);
      lines[row] = l.slice(0, col) + ch + l.slice(col + 1);
      col++;
    }
  }
  return lines;
}

const frame = (n: number, extra = 0) =>
  [
    `migration m  cycle ${n}/3`,
    `evaluate  [${'#'.repeat(n)}]`,
    ...Array.from({ length: extra }, (_, i) => `  line ${i}`),
  ].join('\n');

describe('live view', () => {
  it('on a terminal each frame replaces the last: the screen shows only the newest', () => {
    const out = new Capture(true);
    const view = new LiveView(out);
    out.write('migration m started\n');
    view.update(frame(1, 3));
    view.update(frame(2, 1)); // shorter: the old frame's extra lines must go
    view.update(frame(3));
    view.done();
    const shown = screen(out.text);
    assert.deepEqual(shown, ['migration m started', 'migration m  cycle 3/3', 'evaluate  [###]', '']);
    assert.match(out.text, new RegExp(`${ESC}\\[\\d+A${ESC}\\[J`), 'cursor-up and clear were used');
  });

  it('printing above the view on a terminal keeps the frame intact below the message', () => {
    const out = new Capture(true);
    const view = new LiveView(out);
    view.update(frame(1));
    view.print('2026-12-01T05:00:00.000Z WARN  No activities registered');
    view.update(frame(2));
    assert.deepEqual(screen(out.text), [
      '2026-12-01T05:00:00.000Z WARN  No activities registered',
      'migration m  cycle 2/3',
      'evaluate  [##]',
      '',
    ]);
  });

  it('long lines are cut to the terminal width so the row count stays exact', () => {
    const out = new Capture(true, 20);
    const view = new LiveView(out);
    view.update(`${'x'.repeat(50)}\nshort`);
    view.update(`${'y'.repeat(50)}\nnew`);
    const shown = screen(out.text, 20);
    assert.equal(shown.length, 3);
    assert.match(shown[0]!, /^y{18}…$/);
    assert.equal(shown[1], 'new');
  });

  it('a terminal that reports no size (0x0, as under `script`) is not cut down to nothing', () => {
    const out = new Capture(true, 0, 0);
    const view = new LiveView(out);
    view.update(frame(1, 2));
    view.update(frame(2, 2));
    assert.deepEqual(screen(out.text, 200), [...frame(2, 2).split('\n'), '']);
  });

  it('elsewhere (a CI log) it appends plain summary lines only when they change, and the last frame once', () => {
    const out = new Capture(false);
    const view = new LiveView(out);
    view.update(frame(1), 'cycle 1 ingest');
    view.update(frame(1), 'cycle 1 ingest');
    view.update(frame(2), 'cycle 2 fine-tune');
    view.print('a log line');
    view.update(frame(3), 'cycle 2 fine-tune');
    view.done();
    assert.ok(!out.text.includes(ESC), 'no escape codes in a log');
    assert.equal(out.text, `cycle 1 ingest\ncycle 2 fine-tune\na log line\n${frame(3)}\n`);
  });
});
