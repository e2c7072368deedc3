import assert from "node:assert/strict";
import { scale } from "./ops/elementwise.ts";
import { sizeClass } from "./runtime.ts";
import { full, readTensors, Tensor, tensorFrom } from "./tensor.ts";
import { testRuntime } from "./testing.ts";

const rt = await testRuntime();

Deno.test("sizeClass rounds to powers of two, then whole MiB", () => {
  assert.equal(sizeClass(1), 16);
  assert.equal(sizeClass(100), 128);
  assert.equal(sizeClass(1 << 20), 1 << 20);
  assert.equal(sizeClass((1 << 20) + 1), 2 << 20);
});

Deno.test("released buffers are reused by the next tensor of the same size class", () => {
  const a = new Tensor(rt, [100]);
  const buffer = a.buffer;
  a.release();
  const b = new Tensor(rt, [120]);
  assert.equal(b.buffer, buffer);
  assert.throws(() => a.buffer, /was released/);
  b.release();
});

Deno.test("a shader that fails to compile surfaces as an error at the next readback", async () => {
  const t = tensorFrom(rt, [1, 2, 3], [3]);
  rt.dispatch({ key: "broken-on-purpose", code: () => "this is not WGSL" }, [t.buffer], [1]);
  await assert.rejects(t.toArray(), /WebGPU reported \d+ error/);
  // Errors are cleared once reported: the runtime stays usable.
  assert.deepEqual(Array.from(await t.toArray()), [1, 2, 3]);
});

Deno.test("readMany reads tensors of several dtypes with one sync", async () => {
  const a = tensorFrom(rt, [1.5, -2], [2]);
  const b = tensorFrom(rt, [7, 8, 9], [3], { dtype: "u32" });
  const reads = rt.stats.readbacks;
  const [ra, rb] = await rt.readMany([{ buffer: a.buffer, bytes: a.bytes }, {
    buffer: b.buffer,
    bytes: b.bytes,
  }]);
  assert.equal(rt.stats.readbacks - reads, 1);
  assert.deepEqual(Array.from(new Float32Array(ra)), [1.5, -2]);
  assert.deepEqual(Array.from(new Uint32Array(rb)), [7, 8, 9]);
  a.release();
  b.release();
});

Deno.test("bind groups are cached by binding, and a cached one sees the current uniforms and contents", async () => {
  const x = tensorFrom(rt, [1, 2, 3, 4], [4]);
  const results: number[][] = [];
  const created = rt.stats.bindGroups;
  for (const factor of [2, 3, -1]) {
    // The same op on the same pooled buffers: the second and third find the first one's bind group.
    const y = await rt.scope(() => scale(x, factor));
    results.push(Array.from(await y.toArray()));
    y.release();
  }
  assert.deepEqual(results, [[2, 4, 6, 8], [3, 6, 9, 12], [-1, -2, -3, -4]]);
  assert.equal(rt.stats.bindGroups - created, 1);
  // New contents in the same buffer are seen through the cached bind group.
  rt.write(x.buffer, new Float32Array([5, 6, 7, 8]));
  const y = scale(x, 1);
  assert.deepEqual(Array.from(await y.toArray()), [5, 6, 7, 8]);
  assert.equal(rt.stats.bindGroups - created, 1);
  x.release();
  y.release();
});

Deno.test("an upload between recorded commands lands between them, without a submit of its own", async () => {
  const x = tensorFrom(rt, [1, 2], [2]);
  await x.toArray();
  const submits = rt.stats.submits;
  const before = scale(x, 2);
  rt.write(x.buffer, new Float32Array([10, 20]));
  const after = scale(x, 3);
  // Overwrite the upload's source array: the bytes were taken at the call.
  const source = new Float32Array([7, 7]);
  rt.write(x.buffer, source);
  source.fill(-1);
  const [a, b, c] = await readTensors(rt, [before, after, x]);
  assert.deepEqual([Array.from(a), Array.from(b), Array.from(c)], [[2, 4], [30, 60], [7, 7]]);
  assert.equal(rt.stats.submits - submits, 1, "one submit, at the readback");
  for (const t of [x, before, after]) t.release();
});

Deno.test("uploads never overwrite a freed buffer that recorded commands still read", async () => {
  const inputs = [1, 2, 3, 4].map((v) => tensorFrom(rt, [v, v], [2]));
  await inputs[0].toArray();
  const scaled = inputs.map((x) => scale(x, 2));
  // Freed while the scales that read them are recorded and not yet submitted.
  for (const x of inputs) x.release();
  const uploaded = [5, 6, 7, 8].map((v) => tensorFrom(rt, [v, v], [2]));
  const values = await readTensors(rt, [...scaled, ...uploaded]);
  assert.deepEqual(values.map((v) => v[0]), [2, 4, 6, 8, 5, 6, 7, 8]);
  for (const t of [...scaled, ...uploaded]) t.release();
});

Deno.test("full fills every element of every dtype on the GPU, over a reused buffer's old contents", async () => {
  // Old contents in the buffers full() will reuse: without the fill they would show through.
  for (const n of [5, 300_000]) tensorFrom(rt, new Float32Array(n).fill(7.5), [n]).release();
  const cases = [
    full(rt, [300_000], -1.25),
    full(rt, [5], 3, "u32"),
    full(rt, [5], -2, "i32"),
    full(rt, [2, 3], 0.5, "f16"), // an odd number of f16 words' halves: 6 halves, 3 words
    full(rt, [1, 5], 0, "f16"), // 5 halves: the last word is half padding
  ];
  const values = await readTensors(rt, cases);
  const expected = [-1.25, 3, -2, 0.5, 0];
  values.forEach((v, i) => {
    assert.equal(v.length, cases[i].size);
    assert.ok(v.every((x) => x === expected[i]), `full case ${i}: ${[...v.slice(0, 8)]}`);
  });
  assert.equal(full(rt, [0, 4]).size, 0);
  for (const t of cases) t.release();
});
