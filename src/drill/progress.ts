import { shown } from '../printable.js';

/** What a drill reports while it runs; the runner never writes to the terminal itself. */
export interface DrillProgress {
  stepStarted(name: string): void;
  stepFinished(name: string, result: 'pass' | 'fail' | 'skipped', seconds: number, message: string): void;
  /** The cut is in effect: the SLA clock starts. */
  cutAt(epochMs: number): void;
  /** DR was verified after the cut: the SLA clock stops at the RTO. */
  verifiedAt?(epochMs: number): void;
  note(line: string): void;
  /** Stops redrawing (and leaves the last frame on screen). */
  close(): void;
}

export interface ProgressOptions {
  slaMs: number;
  steps: string[];
  write: (text: string) => void;
  /** Redraw in place (a terminal) or print one line per event. */
  tty: boolean;
  clock?: () => number;
  /** Redraw interval on a terminal. Default: 250 ms. */
  intervalMs?: number;
  /** Terminal width: longer lines are cut so a redraw never miscounts wrapped lines. Default: 100. */
  columns?: number;
}

const MARK = { pass: '✓', fail: '✗', skipped: '-', running: '…', waiting: ' ' } as const;

/** One line per event, for logs, CI and `--json` (on stderr, so stdout stays machine-readable). */
export class PlainProgress implements DrillProgress {
  private readonly clock: () => number;
  private readonly t0: number;
  private cut: number | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.clock = opts.clock ?? Date.now;
    this.t0 = this.clock();
  }

  private line(text: string): void {
    this.opts.write(`drill [${((this.clock() - this.t0) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
  }

  stepStarted(name: string): void {
    this.line(`${name}: started`);
  }

  stepFinished(name: string, result: 'pass' | 'fail' | 'skipped', seconds: number, message: string): void {
    this.line(`${name}: ${result} in ${seconds.toFixed(1)} s${message ? `: ${shown(message.split('\n')[0]!)}` : ''}`);
  }

  cutAt(epochMs: number): void {
    this.cut = epochMs;
    this.line(`primary is cut off; SLA ${this.opts.slaMs / 1000} s starts now`);
  }

  verifiedAt(epochMs: number): void {
    if (this.cut !== undefined) this.line(`DR verified ${((epochMs - this.cut) / 1000).toFixed(2)} s after the cut (RTO)`);
  }

  note(line: string): void {
    this.line(shown(line));
  }

  close(): void {}
}

/**
 * Live progress on a terminal: the steps with their state and duration, and the time since the cut
 * against the SLA, redrawn in place every 250 ms; notes scroll above the block.
 */
export class TerminalProgress implements DrillProgress {
  private readonly clock: () => number;
  private readonly state = new Map<string, { mark: keyof typeof MARK; started?: number; seconds?: number; message?: string }>();
  private cut: number | undefined;
  private verified: number | undefined;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.clock = opts.clock ?? Date.now;
    for (const s of opts.steps) this.state.set(s, { mark: 'waiting' });
    this.timer = setInterval(() => this.draw(), opts.intervalMs ?? 250);
    this.timer.unref();
    this.draw();
  }

  /** The block as lines (exported shape for tests: no escape codes). */
  frame(): string[] {
    const now = this.clock();
    const width = Math.max(...this.opts.steps.map((s) => s.length));
    const lines = this.opts.steps.map((name) => {
      const s = this.state.get(name)!;
      const secs = s.seconds ?? (s.started !== undefined ? (now - s.started) / 1000 : undefined);
      return `  ${MARK[s.mark]} ${name.padEnd(width)}  ${secs !== undefined ? `${secs.toFixed(1).padStart(6)} s` : '        '}${s.message ? `  ${shown(s.message.split('\n')[0]!).slice(0, 100)}` : ''}`;
    });
    const sla = this.opts.slaMs / 1000;
    if (this.cut !== undefined && this.verified !== undefined) {
      lines.push(`  DR verified ${((this.verified - this.cut) / 1000).toFixed(2)} s after the cut (RTO), SLA ${sla} s`);
    } else if (this.cut !== undefined) {
      const since = (now - this.cut) / 1000;
      const filled = Math.min(20, Math.round((since / sla) * 20));
      lines.push(`  since the cut ${since.toFixed(1).padStart(6)} s of the ${sla} s SLA [${'#'.repeat(filled)}${'.'.repeat(20 - filled)}]${since > sla ? ' SLA BREACHED' : ''}`);
    } else {
      lines.push(`  SLA ${sla} s (starts at the cut)`);
    }
    const columns = Math.max(20, (this.opts.columns ?? 100) - 1);
    return lines.map((l) => ([...l].length > columns ? [...l].slice(0, columns).join('') : l));
  }

  private draw(): void {
    const lines = this.frame();
    // Up to the block's first line, clear to the end of the screen, draw again.
    this.opts.write(`${this.drawn ? `\x1b[${this.drawn}A` : ''}\x1b[J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  stepStarted(name: string): void {
    this.state.set(name, { mark: 'running', started: this.clock() });
    this.draw();
  }

  stepFinished(name: string, result: 'pass' | 'fail' | 'skipped', seconds: number, message: string): void {
    this.state.set(name, { mark: result, seconds, message });
    this.draw();
  }

  cutAt(epochMs: number): void {
    this.cut = epochMs;
    this.draw();
  }

  verifiedAt(epochMs: number): void {
    this.verified = epochMs;
    this.draw();
  }

  note(line: string): void {
    this.opts.write(`${this.drawn ? `\x1b[${this.drawn}A` : ''}\x1b[J${shown(line)}\n`);
    this.drawn = 0;
    this.draw();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
  }
}

export function createProgress(opts: ProgressOptions): DrillProgress {
  return opts.tty ? new TerminalProgress(opts) : new PlainProgress(opts);
}
