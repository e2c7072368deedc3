import assert from "node:assert/strict";
import { backward } from "../autograd.ts";
import { numel, Tensor, tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import { mean, referenceMean, referenceSum, sum } from "./reduce.ts";

const rt = await testRuntime();

// rows × cols, including non-multiples of the workgroup size and a rank-3 input.
const SHAPES = [[1, 1], [3, 7], [5, 257], [33, 1000], [2, 3, 5], [1, 3000]];

const lastDim = (shape: number[]) => [numel(shape.slice(0, -1)), shape[shape.length - 1]] as const;

Deno.test("sum and mean forward (total and last dim) match the float64 reference", async () => {
  for (const shape of SHAPES) {
    const x = randomValues(numel(shape), 11);
    const t = tensorFrom(rt, x, shape);
    const [rows, cols] = lastDim(shape);
    const cases = [
      ["sum", sum(t), referenceSum(x, 1, x.length)],
      ["mean", mean(t), referenceMean(x, 1, x.length)],
      ["sum -1", sum(t, { axis: -1 }), referenceSum(x, rows, cols)],
      ["mean -1", mean(t, { axis: -1 }), referenceMean(x, rows, cols)],
    ] as const;
    for (const [name, out, expected] of cases) {
      assertClose(await out.toArray(), expected, 1e-5, `${name} [${shape}]`);
      out.release();
    }
    t.release();
  }
});

Deno.test("sum and mean output shapes, keepDim, and errors", () => {
  const t = tensorFrom(rt, randomValues(30, 1), [2, 3, 5]);
  assert.deepEqual(sum(t).shape, [1]);
  assert.deepEqual(sum(t, { keepDim: true }).shape, [1, 1, 1]);
  assert.deepEqual(mean(t, { axis: -1 }).shape, [2, 3]);
  assert.deepEqual(mean(t, { axis: -1, keepDim: true }).shape, [2, 3, 1]);
  assert.deepEqual(sum(tensorFrom(rt, [1, 2], [2]), { axis: -1 }).shape, [1]);
  assert.throws(() => sum(tensorFrom(rt, [1, 2], [2], { dtype: "u32" })), /f32/);
  assert.throws(() => sum(t, { axis: 0 as -1 }), /axis/);
});

Deno.test("sum of an empty tensor is 0", async () => {
  // new Tensor, not tensorFrom: Deno 2.9.6 panics on a zero-byte queue.writeBuffer.
  assert.deepEqual([...await sum(new Tensor(rt, [0, 4])).toArray()], [0]);
  assert.deepEqual([...await sum(new Tensor(rt, [3, 0]), { axis: -1 }).toArray()], [0, 0, 0]);
});

Deno.test("sum and mean backward match finite differences", async () => {
  for (const shape of [[1, 1], [3, 7], [5, 257], [2, 3, 5]]) {
    const [rows, cols] = lastDim(shape);
    const data = randomValues(numel(shape), 12);
    const cases = [
      ["sum", (x: typeof data) => referenceSum(x, 1, x.length), { keepDim: true }],
      ["mean", (x: typeof data) => referenceMean(x, 1, x.length), {}],
      ["sum -1", (x: typeof data) => referenceSum(x, rows, cols), { axis: -1 }],
      ["mean -1", (x: typeof data) => referenceMean(x, rows, cols), { axis: -1, keepDim: true }],
    ] as const;
    for (const [name, ref, options] of cases) {
      const op = name.startsWith("sum") ? sum : mean;
      const [e] = await gradCheck(rt, [{ data, shape }], ([x]) => op(x, options), ([x]) => ref(x));
      assert.ok(e < 1e-4, `${name} [${shape}]: gradient error ${e}`);
    }
  }
});

Deno.test("large reductions: 1,000,003 elements in two passes; long rows split over workgroups", async () => {
  const n = 1_000_003;
  const x = randomValues(n, 13);
  const t = tensorFrom(rt, x, [n]);
  const before = rt.stats.dispatches;
  const s = sum(t);
  assert.equal(rt.stats.dispatches - before, 2, "a total reduction takes two passes");
  assertClose(await s.toArray(), referenceSum(x, 1, n), 1e-4, "sum of 1,000,003");
  assertClose(await mean(t).toArray(), referenceMean(x, 1, n), 1e-4, "mean of 1,000,003");
  // A few very long rows: each row is split over several workgroups, then the partials reduced.
  const wide = tensorFrom(rt, x.subarray(0, 3 * 300_001), [3, 300_001]);
  assertClose(
    await sum(wide, { axis: -1 }).toArray(),
    referenceSum(x, 3, 300_001),
    1e-4,
    "3 rows of 300,001",
  );
  // Backward of the total: every element gets the (scaled) output gradient.
  t.requiresGrad = true;
  const m = mean(t);
  backward(m, tensorFrom(rt, [2], [1]));
  const g = await t.grad!.toArray();
  assert.equal(g.length, n);
  assert.ok(g.every((v) => Math.abs(v - 2 / n) < 1e-12), "mean backward is 2/n everywhere");
});
