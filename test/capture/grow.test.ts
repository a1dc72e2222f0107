// The one grower of typed arrays, and the writer's flow-id cache built on it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FlowIds } from '../../src/capture/flow-ids';
import { capacityFor, grown } from '../../src/capture/grow';

test('grown keeps the type and the values, zeros after them', () => {
  const a = grown(Uint32Array.from([1, 2, 3]), 5);
  assert.ok(a instanceof Uint32Array);
  assert.deepEqual([...a], [1, 2, 3, 0, 0]);
  const b = grown(Float64Array.from([0.5]), 0);
  assert.deepEqual([...b], [0.5]);
  assert.ok(grown(new Int32Array(2), 4) instanceof Int32Array);
  assert.equal(capacityFor(0, 0, 1024), 1024);
  assert.equal(capacityFor(5000, 1024, 1024), 8192);
  assert.equal(capacityFor(2047, 2048, 1024), 2048);
});

test('flow ids: handles are reused once a flow is forgotten; a flow has one row per frame', () => {
  const ids = new FlowIds();
  const many = Array.from({ length: 3000 }, (_, i) => ids.add(`k${i}`, i + 1)); // past the first arrays
  assert.deepEqual([ids.size, ids.id(many[2999]), ids.handle('k7')], [3000, 3000, many[7]]);
  ids.forget('k7');
  ids.forget('k7');
  assert.equal(ids.handle('k7'), undefined);
  const h = ids.add('new', 5000);
  assert.equal(h, many[7]);
  assert.equal(ids.rowIn(h, 1), -1);
  ids.setRow(h, 1, 42);
  assert.deepEqual([ids.rowIn(h, 1), ids.rowIn(h, 2)], [42, -1]);
  ids.forgetIds([1, 2, 5000]);
  assert.deepEqual([ids.handle('k0'), ids.handle('k1'), ids.handle('new'), ids.size], [undefined, undefined, undefined, 2997]);
});
