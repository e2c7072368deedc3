import assert from "node:assert/strict";
import { Runtime } from "../runtime.ts";
import { numel, Tensor, tensorFrom } from "../tensor.ts";
import { mul } from "./elementwise.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import { permute, reshape } from "./shape.ts";

const rt = await testRuntime();

function refPermute(x: Float64Array, shape: number[], perm: number[]): Float64Array {
  const out = new Float64Array(x.length);
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    let rem = i, j = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const c = rem % outShape[d];
      rem = Math.floor(rem / outShape[d]);
      j += c * strides[perm[d]];
    }
    out[i] = x[j];
  }
  return out;
}

Deno.test("permute matches the reference and its backward is the inverse permutation", async () => {
  for (
    // The last three have outputs whose last dimension is a multiple of 4: on the software adapter the
    // texture kernel runs them (one texel per output quad, or a 4-texel gather for [6, 4] and [2, 6, 4]).
    const [shape, perm] of [
      [[2, 3, 4], [1, 0, 2]],
      [[2, 5, 3, 7], [0, 2, 1, 3]],
      [[6, 1], [1, 0]],
      [[2, 5, 3, 8], [0, 2, 1, 3]],
      [[4, 6], [1, 0]],
      [[2, 4, 6], [0, 2, 1]],
    ] as [number[], number[]][]
  ) {
    const x = randomValues(numel(shape), 1);
    const out = permute(tensorFrom(rt, x, shape), perm);
    assert.deepEqual(out.shape, perm.map((p) => shape[p]));
    assertClose(await out.toArray(), refPermute(x, shape, perm), 1e-7, `permute [${shape}] by [${perm}]`);
    const [e] = await gradCheck(
      rt,
      [{ data: x, shape }],
      ([t]) => permute(t, perm),
      ([v]) => refPermute(v, shape, perm),
    );
    assert.ok(e < 1e-6, `permute gradient error ${e}`);
  }
  assert.throws(() => permute(tensorFrom(rt, [1, 2], [2, 1]), [0, 0]), /not a permutation/);
});

Deno.test("reshape keeps the elements and checks the size", async () => {
  const x = randomValues(24, 2);
  const out = reshape(tensorFrom(rt, x, [2, 12]), [4, 3, 2]);
  assert.deepEqual(out.shape, [4, 3, 2]);
  assertClose(await out.toArray(), x, 1e-7); // f32 rounding of the float64 inputs only
  assert.throws(() => reshape(out, [5, 5]), /cannot reshape/);
  // Any element count (15: not whole texels).
  const y = randomValues(15, 3);
  const out2 = reshape(tensorFrom(rt, y, [3, 5]), [5, 3]);
  assertClose(await out2.toArray(), y, 1e-7);
});

Deno.test("reshape is a view: no dispatch, one buffer, back to the pool when both are released", async () => {
  const x = tensorFrom(rt, [1, 2, 3, 4, 5, 6], [2, 3]);
  const dispatches = rt.stats.dispatches, pooled = rt.stats.bytesInPool;
  const v = reshape(x, [3, 2]);
  assert.equal(rt.stats.dispatches, dispatches);
  assert.equal(v.buffer, x.buffer);
  x.release();
  assert.equal(rt.stats.bytesInPool, pooled, "the view still holds the buffer");
  assert.deepEqual(Array.from(await v.toArray()), [1, 2, 3, 4, 5, 6]);
  assert.throws(() => reshape(x, [6]), /released/);
  v.release();
  v.release(); // idempotent: the buffer goes back once
  assert.ok(rt.stats.bytesInPool > pooled, "the last holder returned it");
  assert.throws(() => new Tensor(rt, [4], "f32", tensorFrom(rt, [1, 2, 3], [3])), /keep dtype and size/);
  // The gradient flows back through the view.
  const errors = await gradCheck(
    rt,
    [{ data: randomValues(12, 5), shape: [3, 4] }],
    (xs) => mul(reshape(xs[0], [2, 6]), reshape(xs[0], [2, 6])),
    (xs) => xs[0].map((a) => a * a),
  );
  assert.ok(errors[0] < 1e-4, `gradient error ${errors[0]}`);
});

Deno.test("permute: the GPU kernel and the software-adapter texture kernel agree", async () => {
  const [shape, perm] = [[2, 6, 3, 8], [0, 2, 1, 3]];
  const x = randomValues(numel(shape), 3);
  for (const fallback of [false, true]) {
    const r = new Runtime({ ...rt.gpu, info: { ...rt.gpu.info, fallback } });
    const out = permute(tensorFrom(r, x, shape), perm);
    assertClose(await out.toArray(), refPermute(x, shape, perm), 1e-7, `fallback ${fallback}`);
  }
});
