// Runs the interactive view: keys and the clock drive the state machine, the cursor reads what the state
// shows, render draws it, the terminal shows the lines that changed. Replay and live are this one loop.
import type { Flow } from '../../capture/types';
import type { CaptureCursor } from '../../replay/cursor';
import type { DisplayZone } from '../../time/zone';
import { decodeKeys } from './keys';
import { render, type ScreenData } from './render';
import { buildRows, groupValue, passes, type Rows } from './rows';
import { grown, pruned, reduceKey, tick, type ViewState } from './state';
import { Terminal } from './terminal';

/** The full-screen view is for a person at a terminal; -C, a pipe or --no-interactive print the classic view. */
export function wantsInteractive(opts: { noclear?: boolean; interactive?: boolean }): boolean {
  return opts.interactive !== false && !opts.noclear && process.stdout.isTTY === true && process.stdin.isTTY === true;
}

export interface SessionOptions {
  cursor: CaptureCursor;
  host: string;
  zone: DisplayZone;
  recordedUs: number;
  state: ViewState;
  /** Playback pace: 1 is real time. */
  speed: number;
  color: boolean;
  /** --names and --wide: remote hosts by name, a UNIT column. */
  names?: boolean;
  wide?: boolean;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

export class Session {
  private state: ViewState;
  private readonly terminal: Terminal;
  private rows: Rows = { kind: 'flows', v4: [], v6: [] };
  private chartKey = '';
  /** The charted row's bytes per frame, from the frame with seq `chartFirstSeq`; extended as a live capture grows. */
  private chart: { rx: number[]; tx: number[] } | null = null;
  private chartFirstSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  private readonly onSignal = (): void => this.finish();
  /** An exception no handler caught still ends the view the same way: terminal restored, then one line. */
  private readonly onCrash = (err: unknown): void => this.fail(err);
  private readAhead: NodeJS.Immediate | null = null;

  constructor(private readonly o: SessionOptions) {
    this.state = o.state;
    this.terminal = new Terminal(o.input ?? process.stdin, o.output ?? process.stdout);
  }

  /** Shows the view until q, Ctrl-C, SIGTERM or an error; the terminal is restored in every case. */
  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
    process.on('SIGHUP', this.onSignal);
    process.on('uncaughtException', this.onCrash);
    try {
      this.terminal.enter({ onKeys: (data) => this.guard(() => this.keys(data)), onResize: () => this.guard(() => this.draw()) });
      this.draw();
      this.schedule();
    } catch (err) {
      this.fail(err);
    }
    return done.finally(() => {
      this.stopTimer();
      process.off('SIGTERM', this.onSignal);
      process.off('SIGINT', this.onSignal);
      process.off('SIGHUP', this.onSignal);
      process.off('uncaughtException', this.onCrash);
      if (this.readAhead) clearImmediate(this.readAhead);
      this.terminal.leave();
    });
  }

  /** The capture has new frames (live): take them in and redraw. */
  grew(): void {
    this.guard(() => {
      const added = this.o.cursor.grow();
      const dropped = added > 0 ? this.o.cursor.prune() : 0;
      if (added === 0 && this.state.frames === this.o.cursor.frames) return;
      this.state = grown(pruned(this.state, dropped), this.o.cursor.frames);
      this.draw();
    });
  }

  private keys(data: string): void {
    for (const key of decodeKeys(data)) {
      this.state = reduceKey(this.state, key, {
        rows: this.rows,
        wallUs: this.o.cursor.timeline.wallUs,
        monoUs: this.o.cursor.timeline.monoUs,
        span: this.o.cursor.frames ? this.o.cursor.span() : null,
        zone: this.o.zone,
      });
      if (this.state.quit) return this.finish();
      // The rows the next key works on are those this state shows.
      this.rows = this.currentRows();
    }
    this.draw();
    this.schedule();
  }

  private currentRows(): Rows {
    const s = this.state;
    if (this.o.cursor.frames === 0) return { kind: 'flows', v4: [], v6: [] };
    return buildRows(this.o.cursor.bin(s.pos, s.factor).flows, s);
  }

  /** Builds the screen's data for the state and draws it. */
  private draw(): void {
    const s = this.state;
    const cursor = this.o.cursor;
    const bin = cursor.frames ? cursor.bin(s.pos, s.factor) : null;
    this.rows = bin ? buildRows(bin.flows, s) : { kind: 'flows', v4: [], v6: [] };
    if (s.screen === 'chart' && s.chart) this.updateChart(s);
    const data: ScreenData = {
      host: this.o.host, zone: this.o.zone, bin, rows: this.rows,
      wallUs: cursor.timeline.wallUs, intervalUs: cursor.timeline.intervalUs, totals: cursor.timeline.totals,
      recordedUs: this.o.recordedUs, chart: s.screen === 'chart' ? this.chart : null, color: this.o.color,
      names: this.o.names, wide: this.o.wide,
    };
    this.terminal.draw(render(s, data, { width: this.terminal.width, height: this.terminal.height }));
    this.readAroundLater();
  }

  /** Once the screen is drawn, reads the intervals either side, so the next step finds them read. */
  private readAroundLater(): void {
    if (this.readAhead || !this.settle) return;
    this.readAhead = setImmediate(() => {
      this.readAhead = null;
      this.guard(() => {
        const s = this.state;
        const bins = Math.ceil(this.o.cursor.frames / s.factor);
        if (s.pos + 1 < bins) this.o.cursor.bin(s.pos + 1, s.factor);
        if (s.pos > 0) this.o.cursor.bin(s.pos - 1, s.factor);
        // The one shown last, so that it is the newest in the cache.
        if (bins > 0) this.o.cursor.bin(s.pos, s.factor);
      });
    });
  }

  /** Reads the charted row's bytes: all of them for a new row, only the new frames' as a capture grows. */
  private updateChart(s: ViewState): void {
    const sel = s.chart!;
    const t = this.o.cursor.timeline;
    const match = (f: Flow): boolean => passes(f, s) && groupValue(f, sel.grouping) === sel.value;
    const key = `${sel.grouping}\0${sel.value}\0${s.filter}\0${s.family ?? ''}`;
    const firstSeq = t.seqs[0] ?? 0;
    const drop = firstSeq - this.chartFirstSeq;
    // Frames are numbered one after another: the series lines up with the timeline by seq.
    const aligned = this.chart && key === this.chartKey && drop >= 0 && drop <= this.chart.rx.length &&
      t.seqs.length >= this.chart.rx.length - drop && t.seqs[this.chart.rx.length - drop - 1] === firstSeq + this.chart.rx.length - drop - 1;
    if (!aligned) {
      const all = this.o.cursor.series(match);
      this.chart = { rx: Array.from(all.rx), tx: Array.from(all.tx) };
    } else {
      const c = this.chart!;
      c.rx.splice(0, drop);
      c.tx.splice(0, drop);
      if (c.rx.length < t.seqs.length) {
        const more = this.o.cursor.series(match, c.rx.length);
        c.rx.push(...more.rx);
        c.tx.push(...more.tx);
      }
    }
    this.chartKey = key;
    this.chartFirstSeq = firstSeq;
  }

  /** Replay playing: the next interval after one interval's time (at the speed asked for). */
  private schedule(): void {
    const s = this.state;
    if (!s.playing || s.follow) return this.stopTimer();
    if (this.timer) return;
    const ms = (s.factor * this.o.recordedUs) / 1000 / this.o.speed;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.guard(() => {
        this.state = tick(this.state);
        this.draw();
        this.schedule();
      });
    }, ms);
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  private finish(): void {
    this.settle?.resolve();
    this.settle = null;
  }

  /** Ends the view with an error from outside it (the recorder feeding a live view failed). */
  abort(err: unknown): void {
    this.fail(err);
  }

  private fail(err: unknown): void {
    this.settle?.reject(err);
    this.settle = null;
  }
}
