import assert from "node:assert/strict";
import { numel } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import { add, broadcastShape, broadcastStrides, gelu, mul, scale, sub, sumTo } from "./elementwise.ts";
import { tensorFrom } from "../tensor.ts";

const rt = await testRuntime();

/** float64 reference of a broadcasting binary op. */
function refBinary(
  f: (a: number, b: number) => number,
  a: Float64Array,
  as: number[],
  b: Float64Array,
  bs: number[],
) {
  const shape = broadcastShape(as, bs);
  const sa = broadcastStrides(as, shape), sb = broadcastStrides(bs, shape);
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) {
    let rem = i, ia = 0, ib = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      ia += c * sa[d];
      ib += c * sb[d];
    }
    out[i] = f(a[ia], b[ib]);
  }
  return out;
}

const refGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

const CASES: [number[], number[]][] = [
  [[7], [7]],
  [[6, 4], [6, 4]], // same shape, whole texels: the software adapter's texture kernel
  [[3, 5], [5]],
  [[4, 1, 6], [1, 3, 1]],
  [[2, 3, 17], [2, 1, 17]],
  [[1], [5, 3]],
  [[300, 257], [257]], // more than one workgroup, not a multiple of 256
  [[300, 256], [300, 256]],
];

Deno.test("broadcastShape follows numpy's rules", () => {
  assert.deepEqual(broadcastShape([4, 1, 6], [1, 3, 1]), [4, 3, 6]);
  assert.deepEqual(broadcastShape([5], [2, 5]), [2, 5]);
  assert.throws(() => broadcastShape([3], [4]), /cannot be broadcast/);
  assert.deepEqual(broadcastStrides([3, 1], [2, 3, 4]), [0, 1, 0]);
});

Deno.test("add, sub, mul forward match the float64 reference with broadcasting", async () => {
  for (const [as, bs] of CASES) {
    const a = randomValues(numel(as), 1), b = randomValues(numel(bs), 2);
    const ta = tensorFrom(rt, a, as), tb = tensorFrom(rt, b, bs);
    for (
      const [name, op, f] of [
        ["add", add, (x: number, y: number) => x + y],
        ["sub", sub, (x: number, y: number) => x - y],
        ["mul", mul, (x: number, y: number) => x * y],
      ] as const
    ) {
      const out = op(ta, tb);
      assert.deepEqual(out.shape, broadcastShape(as, bs));
      assertClose(await out.toArray(), refBinary(f, a, as, b, bs), 1e-6, `${name} [${as}]·[${bs}]`);
      out.release();
    }
  }
});

Deno.test("add, sub, mul backward (with broadcast reduction) match finite differences", async () => {
  for (const [as, bs] of CASES.slice(0, 5)) {
    for (
      const [name, op, f] of [
        ["add", add, (x: number, y: number) => x + y],
        ["sub", sub, (x: number, y: number) => x - y],
        ["mul", mul, (x: number, y: number) => x * y],
      ] as const
    ) {
      const errors = await gradCheck(
        rt,
        [{ data: randomValues(numel(as), 3), shape: as }, { data: randomValues(numel(bs), 4), shape: bs }],
        ([a, b]) => op(a, b),
        ([a, b]) => refBinary(f, a, as, b, bs),
      );
      for (const e of errors) assert.ok(e < 1e-4, `${name} [${as}]·[${bs}]: gradient error ${e}`);
    }
  }
});

Deno.test("gelu and scale: forward and backward", async () => {
  const x = randomValues(1000, 5, -6, 6);
  const t = tensorFrom(rt, x, [10, 100]);
  assertClose(await gelu(t).toArray(), x.map(refGelu), 1e-5, "gelu");
  assertClose(await scale(t, -2.5).toArray(), x.map((v) => -2.5 * v), 1e-7, "scale");
  const [eg] = await gradCheck(
    rt,
    [{ data: randomValues(200, 6, -4, 4), shape: [200] }],
    ([a]) => gelu(a),
    ([a]) => a.map(refGelu),
  );
  assert.ok(eg < 1e-4, `gelu gradient error ${eg}`);
});

Deno.test("sumTo reduces broadcast dimensions", async () => {
  const g = randomValues(2 * 3 * 4, 7);
  const t = tensorFrom(rt, g, [2, 3, 4]);
  const expected = new Float64Array(3);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) expected[j] += g[i * 12 + j * 4 + k];
  }
  const out = sumTo(t, [3, 1]);
  assert.deepEqual(out.shape, [3, 1]);
  assertClose(await out.toArray(), expected, 1e-6, "sumTo");
  assert.throws(() => sumTo(t, [5]), /cannot sum/);
});
