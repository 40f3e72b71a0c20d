// A block of text that updates in place on a terminal, and plain appended lines elsewhere (CI logs, pipes):
// on a TTY each frame replaces the last one (cursor up, clear to end of screen); otherwise a one-line summary
// is appended only when it changed, and the last full frame once at the end.

export interface ViewOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

const ESC = '\x1b[';

export class LiveView {
  private shownRows = 0;
  private lastFrame = '';
  private lastSummary = '';
  private readonly tty: boolean;

  constructor(private readonly out: ViewOutput = process.stdout) {
    this.tty = Boolean(out.isTTY);
  }

  /** Shows a new frame; `summary` is the single line a non-terminal gets (default: the frame itself). */
  update(frame: string, summary: string = frame): void {
    this.lastFrame = frame;
    if (this.tty) {
      this.out.write(this.erase() + this.fit(frame));
      return;
    }
    if (summary === this.lastSummary) return;
    this.lastSummary = summary;
    this.out.write(`${summary}\n`);
  }

  /** Prints text above the view (a log line, a message) without tearing the frame on a terminal. */
  print(text: string): void {
    if (!this.tty || !this.shownRows) {
      this.out.write(`${text}\n`);
      return;
    }
    const frame = this.lastFrame;
    this.out.write(`${this.erase()}${text}\n${this.fit(frame)}`);
  }

  /** Ends the view: a terminal keeps its last frame; elsewhere the last full frame is printed once. */
  done(): void {
    if (!this.tty && this.lastFrame && this.lastFrame !== this.lastSummary)
      this.out.write(`${this.lastFrame}\n`);
    this.shownRows = 0;
    this.lastFrame = '';
    this.lastSummary = '';
  }

  private erase(): string {
    const up = this.shownRows;
    this.shownRows = 0;
    return up ? `\r${ESC}${up}A${ESC}J` : '';
  }

  /** Lines cut to the terminal's width (so none wraps and the row count is exact) and to its height. */
  private fit(frame: string): string {
    const width = Math.max(10, (this.out.columns || 80) - 1);
    let lines = frame.split('\n').map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    const height = Math.max(2, (this.out.rows || 1000) - 1);
    if (lines.length > height) lines = lines.slice(0, height);
    this.shownRows = lines.length;
    return `${lines.join('\n')}\n`;
  }
}
