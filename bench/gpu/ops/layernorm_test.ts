import assert from "node:assert/strict";
import { Runtime } from "../runtime.ts";
import { backward } from "../autograd.ts";
import { numel, tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import { layerNorm, referenceLayerNorm } from "./layernorm.ts";

const rt = await testRuntime();

/** float64 analytic gradients (dx, dγ, dβ) of layer norm for output gradient g. */
function referenceGrads(
  x: Float64Array,
  gamma: Float64Array,
  g: Float64Array,
  rows: number,
  cols: number,
  eps = 1e-5,
) {
  const dx = new Float64Array(x.length), dg = new Float64Array(cols), db = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const mu = row.reduce((a, b) => a + b, 0) / cols;
    const rstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / cols + eps);
    let m1 = 0, m2 = 0;
    for (let j = 0; j < cols; j++) {
      const gh = g[r * cols + j] * gamma[j], xh = (row[j] - mu) * rstd;
      m1 += gh / cols;
      m2 += (gh * xh) / cols;
      dg[j] += g[r * cols + j] * xh;
      db[j] += g[r * cols + j];
    }
    for (let j = 0; j < cols; j++) {
      const gh = g[r * cols + j] * gamma[j], xh = (row[j] - mu) * rstd;
      dx[r * cols + j] = rstd * (gh - m1 - xh * m2);
    }
  }
  return [dx, dg, db];
}

Deno.test("layerNorm forward matches the float64 reference", async () => {
  for (const shape of [[1, 1], [3, 7], [5, 257], [33, 1000], [2, 3, 64], [3000, 16]]) {
    const cols = shape[shape.length - 1], rows = numel(shape) / cols;
    const x = randomValues(numel(shape), 51, -3, 5);
    const gamma = randomValues(cols, 52, 0.5, 1.5), beta = randomValues(cols, 53);
    const y = layerNorm(
      tensorFrom(rt, x, shape),
      tensorFrom(rt, gamma, [cols]),
      tensorFrom(rt, beta, [cols]),
    );
    assert.deepEqual(y.shape, shape);
    assertClose(await y.toArray(), referenceLayerNorm(x, gamma, beta, rows, cols), 1e-5, `[${shape}]`);
  }
  // Large offsets and a different eps: the two-pass variance does not cancel.
  const x = randomValues(4 * 100, 54).map((v) => 1000 + v);
  const ones = new Float64Array(100).fill(1), zeros = new Float64Array(100);
  const y = layerNorm(
    tensorFrom(rt, x, [4, 100]),
    tensorFrom(rt, ones, [100]),
    tensorFrom(rt, zeros, [100]),
    1e-3,
  );
  assertClose(await y.toArray(), referenceLayerNorm(x, ones, zeros, 4, 100, 1e-3), 1e-4, "offset 1000");
  assert.throws(
    () => layerNorm(tensorFrom(rt, x, [4, 100]), tensorFrom(rt, ones, [100]), tensorFrom(rt, [0], [1])),
    /beta/,
  );
});

Deno.test("layerNorm backward to x, gamma and beta matches finite differences", async () => {
  // [2, 3, 12]: whole texels per row, so the software adapter runs the texture kernels.
  for (const shape of [[1, 1], [4, 1], [3, 7], [5, 257], [2, 3, 9], [2, 3, 12]]) {
    const cols = shape[shape.length - 1], rows = numel(shape) / cols;
    // With D = 1 the output is β whatever x is, so dx is exactly 0 and a relative error is undefined.
    // The kernel's dx there is rstd·(ĝ − mean ĝ) = √(1/ε)·(rounding of ĝ): exactly 0 on llvmpipe, about
    // 1e-6 on NVIDIA, whose compiler contracts g·γ − mean into an FMA. Check it absolutely instead.
    const errors = await gradCheck(
      rt,
      [
        { data: randomValues(numel(shape), 55, -2, 2), shape },
        { data: randomValues(cols, 56, 0.5, 1.5), shape: [cols] },
        { data: randomValues(cols, 57), shape: [cols] },
      ],
      ([x, g, b]) => layerNorm(x, g, b),
      ([x, g, b]) => referenceLayerNorm(x, g, b, rows, cols),
      { only: cols === 1 ? [1, 2] : undefined },
    );
    errors.forEach((e, k) => assert.ok(e < 1e-4, `[${shape}] input ${k}: gradient error ${e}`));
    if (cols === 1) {
      const x = tensorFrom(rt, randomValues(rows, 58, -2, 2), shape, { requiresGrad: true });
      const y = layerNorm(x, tensorFrom(rt, [1.3], [1]), tensorFrom(rt, [0.2], [1]));
      backward(y, tensorFrom(rt, randomValues(rows, 59), shape));
      const dx = await x.grad!.toArray();
      assert.ok(dx.every((v) => Math.abs(v) < 1e-4), `[${shape}]: dx should be 0, got ${dx}`);
    }
  }
});

Deno.test("layerNorm gamma/beta gradients over 3000 rows match finite differences", async () => {
  const [rows, cols] = [3000, 16];
  const errors = await gradCheck(
    rt,
    [
      { data: randomValues(rows * cols, 58, -2, 2), shape: [rows, cols] },
      { data: randomValues(cols, 59, 0.5, 1.5), shape: [cols] },
      { data: randomValues(cols, 60), shape: [cols] },
    ],
    ([x, g, b]) => layerNorm(x, g, b),
    ([x, g, b]) => referenceLayerNorm(x, g, b, rows, cols),
    { only: [1, 2] },
  );
  errors.forEach((e, k) => assert.ok(e < 1e-4, `input ${k}: gradient error ${e}`));
});

Deno.test("layerNorm backward on 33×1000 and 4097×3 matches the analytic float64 gradients", async () => {
  for (const [rows, cols] of [[33, 1000], [4097, 3]]) {
    const x = randomValues(rows * cols, 61, -2, 2);
    const gamma = randomValues(cols, 62, 0.5, 1.5), beta = randomValues(cols, 63);
    const g = randomValues(rows * cols, 64);
    const tx = tensorFrom(rt, x, [rows, cols], { requiresGrad: true });
    const tg = tensorFrom(rt, gamma, [cols], { requiresGrad: true });
    const tb = tensorFrom(rt, beta, [cols], { requiresGrad: true });
    backward(layerNorm(tx, tg, tb), tensorFrom(rt, g, [rows, cols]));
    const expected = referenceGrads(x, gamma, g, rows, cols);
    const names = ["dx", "dgamma", "dbeta"];
    for (const [k, t] of [tx, tg, tb].entries()) {
      assertClose(await t.grad!.toArray(), expected[k], 1e-4, `${rows}×${cols} ${names[k]}`);
    }
  }
});

Deno.test("layerNorm: the GPU kernels and the software-adapter texture kernels agree", async () => {
  const [rows, cols] = [70, 48];
  const x = randomValues(rows * cols, 67, -2, 2), g = randomValues(rows * cols, 68);
  const gamma = randomValues(cols, 69, 0.5, 1.5), beta = randomValues(cols, 70);
  const expected = referenceGrads(x, gamma, g, rows, cols);
  for (const fallback of [false, true]) {
    const r = new Runtime({ ...rt.gpu, info: { ...rt.gpu.info, fallback } });
    const tx = tensorFrom(r, x, [rows, cols], { requiresGrad: true });
    const y = layerNorm(tx, tensorFrom(r, gamma, [cols]), tensorFrom(r, beta, [cols]));
    assertClose(
      await y.toArray(),
      referenceLayerNorm(x, gamma, beta, rows, cols),
      1e-5,
      `fallback ${fallback}`,
    );
    backward(y, tensorFrom(r, g, [rows, cols]));
    assertClose(await tx.grad!.toArray(), expected[0], 1e-4, `fallback ${fallback}: dx`);
  }
});

Deno.test("layerNorm backward skips inputs that need no gradient", () => {
  const x = tensorFrom(rt, randomValues(12, 65), [3, 4], { requiresGrad: true });
  const gamma = tensorFrom(rt, [1, 1, 1, 1], [4]),
    beta = tensorFrom(rt, [0, 0, 0, 0], [4], { requiresGrad: true });
  const y = layerNorm(x, gamma, beta);
  const grads = y.node!.backward(tensorFrom(rt, randomValues(12, 66), [3, 4]), () => null);
  assert.ok(grads[0] && grads[2]);
  assert.equal(grads[1], null);
});
