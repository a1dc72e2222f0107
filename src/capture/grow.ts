// Typed arrays that grow by copying into a larger one: the recorder's, the writer's and the readers' columns.

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

/** `a` itself when it holds `need` elements, else a copy at least twice as long. */
export function ensured<T extends Growable>(a: T, need: number): T {
  return need <= a.length ? a : grown(a, Math.max(need, a.length * 2));
}
