import assert from "node:assert/strict";
import { backward } from "../autograd.ts";
import { numel, tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import { logSoftmax, referenceLogSoftmax, referenceSoftmax, softmax } from "./softmax.ts";

const rt = await testRuntime();

const OPS = [
  ["softmax", softmax, referenceSoftmax],
  ["logSoftmax", logSoftmax, referenceLogSoftmax],
] as const;

/** float64 analytic backward of softmax / log-softmax for output gradient g. */
function referenceBackward(log: boolean, x: Float64Array, g: Float64Array, rows: number, cols: number) {
  const p = referenceSoftmax(x, rows, cols);
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let d = 0;
    for (let j = 0; j < cols; j++) d += log ? g[r * cols + j] : g[r * cols + j] * p[r * cols + j];
    for (let j = 0; j < cols; j++) {
      const k = r * cols + j;
      out[k] = log ? g[k] - p[k] * d : p[k] * (g[k] - d);
    }
  }
  return out;
}

Deno.test("softmax and logSoftmax forward match the float64 reference", async () => {
  // Rows up to 5000 wide (more than 4096), and 70,000 rows (the workgroup grid spills into y).
  for (const [rows, cols] of [[1, 1], [3, 7], [5, 257], [33, 1000], [2, 5000], [70_000, 3]]) {
    const x = randomValues(rows * cols, 21, -4, 4);
    const t = tensorFrom(rt, x, [rows, cols]);
    for (const [name, op, ref] of OPS) {
      const y = op(t);
      assert.deepEqual(y.shape, [rows, cols]);
      assertClose(await y.toArray(), ref(x, rows, cols), 1e-5, `${name} ${rows}×${cols}`);
      y.release();
    }
    t.release();
  }
});

Deno.test("softmax and logSoftmax are stable for logits of ±80 and on rank-3 inputs", async () => {
  const shape = [2, 3, 50];
  const x = randomValues(numel(shape), 22).map((v) => (v > 0.3 ? 80 : v < -0.3 ? -80 : v * 80));
  const t = tensorFrom(rt, x, shape);
  for (const [name, op, ref] of OPS) {
    const y = await op(t).toArray();
    assert.ok(y.every(Number.isFinite), `${name}: non-finite output`);
    assertClose(y, ref(x, 6, 50), 1e-5, `${name} ±80`);
  }
});

Deno.test("softmax and logSoftmax backward match finite differences", async () => {
  for (const [rows, cols] of [[1, 1], [3, 7], [5, 257]]) {
    for (const [name, op, ref] of OPS) {
      const [e] = await gradCheck(
        rt,
        [{ data: randomValues(rows * cols, 23, -3, 3), shape: [rows, cols] }],
        ([x]) => op(x),
        ([x]) => ref(x, rows, cols),
      );
      assert.ok(e < 1e-4, `${name} ${rows}×${cols}: gradient error ${e}`);
    }
  }
});

Deno.test("softmax and logSoftmax backward on 33×1000 and ±80 match the analytic float64 gradient", async () => {
  for (const [rows, cols, extreme] of [[33, 1000, false], [4, 300, true]] as const) {
    const x = randomValues(rows * cols, 24, -5, 5).map((
      v,
    ) => (extreme ? Math.sign(v) * 80 * Math.abs(v) / 5 : v));
    const g = randomValues(rows * cols, 25);
    for (const [name, op] of OPS) {
      const t = tensorFrom(rt, x, [rows, cols], { requiresGrad: true });
      backward(op(t), tensorFrom(rt, g, [rows, cols]));
      const dx = await t.grad!.toArray();
      assert.ok(dx.every(Number.isFinite), `${name}: non-finite gradient`);
      assertClose(
        dx,
        referenceBackward(name === "logSoftmax", x, g, rows, cols),
        1e-4,
        `${name} ${rows}×${cols}`,
      );
    }
  }
});
