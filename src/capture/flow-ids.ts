// The writer's cache of flow ids: the row of the flow table each live flow key has, so that a frame's samples
// are written without asking the file. A flow the recorder reports ended is forgotten and its handle reused,
// so the cache follows the flows alive at once, not every flow a capture has held (a day of connections).
import { grown } from './grow';

/**
 * Flow keys to handles, and per handle, in typed arrays: the flow's id, and the frame that last gave it a row
 * and which (so a flow given twice in one frame is merged into one row).
 */
export class FlowIds {
  private readonly handles = new Map<string, number>();
  private ids = new Float64Array(0);
  private frameOf = new Float64Array(0);
  private rowOf = new Int32Array(0);
  private readonly free: number[] = [];
  private next = 0;

  /** Keys held. */
  get size(): number {
    return this.handles.size;
  }

  /** The handle of a key held, or undefined. */
  handle(key: string): number | undefined {
    return this.handles.get(key);
  }

  /** Holds a new key with its id; returns its handle: one a forgotten flow left, or the next. */
  add(key: string, id: number): number {
    let h = this.free.pop();
    if (h === undefined) {
      h = this.next++;
      if (h >= this.ids.length) this.grow();
    }
    this.ids[h] = id;
    this.frameOf[h] = 0;
    this.handles.set(key, h);
    return h;
  }

  id(h: number): number {
    return this.ids[h];
  }

  /** The flow's row in frame `frame` (a number that differs from frame to frame), or -1 when it has none yet. */
  rowIn(h: number, frame: number): number {
    return this.frameOf[h] === frame ? this.rowOf[h] : -1;
  }

  setRow(h: number, frame: number, row: number): void {
    this.frameOf[h] = frame;
    this.rowOf[h] = row;
  }

  forget(key: string): void {
    const h = this.handles.get(key);
    if (h === undefined) return;
    this.handles.delete(key);
    this.free.push(h);
  }

  /** Forgets the flows with these ids (retention deleted their rows). */
  forgetIds(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    for (const [key, h] of this.handles) if (gone.has(this.ids[h])) this.forget(key);
  }

  private grow(): void {
    const size = Math.max(1024, 2 * this.ids.length);
    this.ids = grown(this.ids, size);
    this.frameOf = grown(this.frameOf, size);
    this.rowOf = grown(this.rowOf, size);
  }
}
