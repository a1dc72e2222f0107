// The interactive view as a state machine: a state and a key (or a tick of the clock, or new frames) give
// the next state. Pure: what it needs of the capture comes in the context.
import type { Span } from '../../capture/reader';
import type { Family } from '../../capture/types';
import { TcptopError } from '../../errors';
import { resolveBound } from '../../time/range';
import { parseTimeSpec } from '../../time/spec';
import type { DisplayZone } from '../../time/zone';
import type { SortKey } from '../classic';
import type { Key } from './keys';
import { GROUPINGS, rowCount, selectionAt, type Grouping, type Rows, type Selection } from './rows';

export interface ViewState {
  live: boolean;
  /** Frames in the timeline. */
  frames: number;
  /** Frames per interval shown: the re-binning. */
  factor: number;
  /** The interval shown, from 0. */
  pos: number;
  /** The frame the user went to: re-binning shows the interval holding it, so + then - comes back. */
  anchor: number;
  playing: boolean;
  /** Live: the view stays on the newest interval as frames come. */
  follow: boolean;
  sort: SortKey;
  grouping: Grouping;
  filter: string;
  family?: Family;
  /** The row the cursor is on, from 0 across both sections. */
  cursor: number;
  screen: 'rows' | 'help' | 'chart';
  chart: Selection | null;
  prompt: { kind: 'jump' | 'filter'; text: string } | null;
  /** One line for the user about the last key (a time that could not be read). */
  message: string | null;
  quit: boolean;
}

export interface StartOptions {
  live: boolean;
  frames: number;
  factor: number;
  /** The first frame shown, from 0. */
  startFrame: number;
  sort: SortKey;
  family?: Family;
  filter?: string;
}

export function initialState(o: StartOptions): ViewState {
  const s: ViewState = {
    live: o.live, frames: o.frames, factor: Math.max(1, o.factor), pos: 0, anchor: 0, playing: o.live, follow: o.live,
    sort: o.sort, grouping: 'flows', filter: o.filter ?? '', family: o.family, cursor: 0, screen: 'rows', chart: null,
    prompt: null, message: null, quit: false,
  };
  s.pos = o.live ? lastBin(s) : Math.min(Math.floor(o.startFrame / s.factor), lastBin(s));
  s.anchor = s.pos * s.factor;
  return s;
}

/** Intervals at the current re-binning. */
export function binCount(s: Pick<ViewState, 'frames' | 'factor'>): number {
  return Math.max(1, Math.ceil(s.frames / s.factor));
}

function lastBin(s: Pick<ViewState, 'frames' | 'factor'>): number {
  return binCount(s) - 1;
}

/** What a key needs to know of the capture and the screen. */
export interface KeyContext {
  /** The rows shown now: the cursor's range and what Enter charts. */
  rows: Rows;
  /** Frame times, to place a typed time: wall and monotonic, one per frame. */
  wallUs: ArrayLike<number>;
  monoUs: ArrayLike<number>;
  span: Span | null;
  zone: DisplayZone;
}

const SORT_CYCLE: SortKey[] = ['all', 'received', 'sent'];

function seek(s: ViewState, pos: number): ViewState {
  const to = Math.max(0, Math.min(lastBin(s), pos));
  const anchor = to * s.factor;
  // Live: looking back stops following; the newest interval is "now" again.
  if (s.live) return { ...s, pos: to, anchor, follow: to === lastBin(s) && s.follow, playing: to === lastBin(s) && s.playing };
  return { ...s, pos: to, anchor };
}

export function reduceKey(state: ViewState, key: Key, ctx: KeyContext): ViewState {
  const s: ViewState = { ...state, message: null };
  if (key === 'ctrl-c') return { ...s, quit: true };
  if (s.prompt) return promptKey(s, key, ctx);
  if (s.screen === 'help') {
    if (typeof key === 'object' && key.char === 'q') return { ...s, quit: true };
    return { ...s, screen: 'rows' };
  }
  if (s.screen === 'chart') {
    if (typeof key === 'object' && key.char === 'q') return { ...s, quit: true };
    if (key === 'escape' || key === 'enter' || key === 'backspace') return { ...s, screen: 'rows', chart: null };
    if (typeof key === 'object' && key.char === '?') return { ...s, screen: 'help', chart: null };
    return s;
  }
  const rows = rowCount(ctx.rows);
  switch (key) {
    case 'right': return seek(s, s.pos + 1);
    case 'left': return seek(s, s.pos - 1);
    case 'pagedown': return seek(s, s.pos + 10);
    case 'pageup': return seek(s, s.pos - 10);
    case 'home': return seek(s, 0);
    case 'end': return s.live ? { ...seek(s, lastBin(s)), follow: true, playing: true } : seek(s, lastBin(s));
    case 'down': return { ...s, cursor: Math.max(0, Math.min(rows - 1, s.cursor + 1)) };
    case 'up': return { ...s, cursor: Math.max(0, Math.min(rows - 1, s.cursor - 1)) };
    case 'enter': {
      const sel = selectionAt(ctx.rows, Math.min(s.cursor, rows - 1));
      return sel ? { ...s, screen: 'chart', chart: sel } : { ...s, message: 'no row to chart' };
    }
    case 'escape': return s;
    default: break;
  }
  if (typeof key !== 'object') return s;
  switch (key.char) {
    case 'q': return { ...s, quit: true };
    case ' ':
      if (s.live) return s.follow ? { ...s, playing: false, follow: false } : { ...seek(s, lastBin(s)), playing: true, follow: true };
      // Playing from the last interval starts again from the first.
      if (!s.playing && s.pos === lastBin(s)) return { ...seek(s, 0), playing: binCount(s) > 1 };
      return { ...s, playing: !s.playing };
    case 't': return seek(s, s.pos + 1);
    case 'T': return seek(s, s.pos - 1);
    case 'j':
    case 'b': return { ...s, prompt: { kind: 'jump', text: '' } };
    case '/': return { ...s, prompt: { kind: 'filter', text: '' } };
    case '+': return rebin(s, s.factor + 1);
    case '-': return rebin(s, s.factor - 1);
    case 's': return { ...s, sort: SORT_CYCLE[(SORT_CYCLE.indexOf(s.sort) + 1) % SORT_CYCLE.length], cursor: 0 };
    case 'g': return { ...s, grouping: GROUPINGS[(GROUPINGS.indexOf(s.grouping) + 1) % GROUPINGS.length], cursor: 0 };
    case '4': return { ...s, family: s.family === 4 ? undefined : 4, cursor: 0 };
    case '6': return { ...s, family: s.family === 6 ? undefined : 6, cursor: 0 };
    case '?': return { ...s, screen: 'help' };
    default: return s;
  }
}

/** A new number of frames per interval; the view shows the interval holding the frame the user went to. */
function rebin(s: ViewState, factor: number): ViewState {
  const f = Math.max(1, Math.min(factor, s.frames));
  if (f === s.factor) return s;
  const next = { ...s, factor: f, pos: Math.min(Math.floor(s.anchor / f), lastBin({ frames: s.frames, factor: f })) };
  if (s.live && s.follow) next.pos = lastBin(next);
  return next;
}

function promptKey(s: ViewState, key: Key, ctx: KeyContext): ViewState {
  const p = s.prompt!;
  if (key === 'escape') return { ...s, prompt: null };
  if (key === 'backspace') return { ...s, prompt: { ...p, text: p.text.slice(0, -1) } };
  if (typeof key === 'object') return { ...s, prompt: { ...p, text: p.text + key.char } };
  if (key !== 'enter') return s;
  const done = { ...s, prompt: null };
  if (p.kind === 'filter') return { ...done, filter: p.text.trim(), cursor: 0 };
  if (p.text.trim() === '') return done;
  if (!ctx.span) return { ...done, message: 'no frames yet' };
  try {
    const bound = resolveBound(parseTimeSpec('jump')(p.text), ctx.span, ctx.zone);
    const times = bound.clock === 'wall' ? ctx.wallUs : ctx.monoUs;
    const frame = firstAtOrAfter(times, bound.us);
    const to = frame === null ? lastBin(s) : Math.floor(frame / s.factor);
    return seek(done, to);
  } catch (err) {
    if (err instanceof TcptopError) return { ...done, message: `jump: cannot read '${p.text}': type 14:02, +5m, -10m or an ISO time` };
    throw err;
  }
}

/** The first index whose value is at or after `us` (values ascending), or null when all are before. */
export function firstAtOrAfter(values: ArrayLike<number>, us: number): number | null {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < us) lo = mid + 1;
    else hi = mid;
  }
  return lo < values.length ? lo : null;
}

/** The clock: the next interval, when playing. Replay stops on the last; live follows the newest. */
export function tick(s: ViewState): ViewState {
  if (!s.playing || s.follow) return s;
  if (s.pos >= lastBin(s)) return { ...s, playing: false };
  const pos = s.pos + 1;
  return { ...s, pos, anchor: pos * s.factor, playing: pos < lastBin(s) || s.live };
}

/** The timeline now has `frames` frames (a capture being recorded grew). */
export function grown(s: ViewState, frames: number): ViewState {
  const next = { ...s, frames };
  if (s.follow) {
    next.pos = lastBin(next);
    next.anchor = next.pos * next.factor;
  }
  return next;
}

/** The oldest `dropped` frames are gone (a bounded live capture): the view stays on the same frames. */
export function pruned(s: ViewState, dropped: number): ViewState {
  if (dropped === 0) return s;
  const next = { ...s, frames: Math.max(0, s.frames - dropped), anchor: Math.max(0, s.anchor - dropped) };
  next.pos = s.follow ? lastBin(next) : Math.min(Math.floor(next.anchor / next.factor), lastBin(next));
  return next;
}
