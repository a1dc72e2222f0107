// Typed arrays that grow by copying into a larger one: the writer's and the recorder's per-flow state.

type Growable = Float64Array | Uint32Array | Int32Array;

/** A copy of `a` in a new array of the same type and `size` elements (at least a.length), zeros after a's. */
export function grown<T extends Growable>(a: T, size: number): T {
  const b = new (a.constructor as new (length: number) => T)(Math.max(size, a.length));
  b.set(a);
  return b;
}

/** The smallest power-of-two multiple of `from` (at least `min`) that holds index `index`. */
export function capacityFor(index: number, from: number, min: number): number {
  let size = Math.max(min, from);
  while (size <= index) size *= 2;
  return size;
}
