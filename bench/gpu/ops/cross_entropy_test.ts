import assert from "node:assert/strict";
import { backward, noGrad } from "../autograd.ts";
import { seededRng } from "../../core/rng.ts";
import { tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import {
  crossEntropy,
  referenceCrossEntropy,
  referenceTokenLogProbs,
  tokenLogProbs,
} from "./cross_entropy.ts";
import { referenceSoftmax } from "./softmax.ts";

const rt = await testRuntime();

const SHAPES = [[1, 1], [3, 7], [5, 257], [33, 1000]];

/** Random targets in [0, cols), with every `badEvery`-th replaced by an out-of-range one. */
function targetsFor(rows: number, cols: number, seed: number, badEvery = 0): number[] {
  const rng = seededRng(seed);
  return Array.from({ length: rows }, (_, r) => {
    if (badEvery && r % badEvery === badEvery - 1) return [cols, cols + 5, 0xffffffff][r % 3];
    return Math.floor(rng() * cols);
  });
}

/** Weights in [0, 2) with roughly a third set to 0 (masked). */
function weightsFor(rows: number, seed: number): Float64Array {
  return randomValues(rows, seed, -1, 2).map((w) => (w < 0 ? 0 : w));
}

/** float64 analytic gradient of the cross-entropy (times output gradient g). */
function referenceGrad(
  x: Float64Array,
  targets: number[],
  rows: number,
  cols: number,
  weights: Float64Array | undefined,
  mean: boolean,
  g: number,
) {
  const p = referenceSoftmax(x, rows, cols);
  let wsum = 0;
  for (let r = 0; r < rows; r++) if (targets[r] < cols) wsum += weights ? weights[r] : 1;
  const norm = mean && wsum !== 0 ? wsum : 1;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    if (targets[r] >= cols) continue;
    const c = (g * (weights ? weights[r] : 1)) / norm;
    for (let j = 0; j < cols; j++) out[r * cols + j] = c * (p[r * cols + j] - (j === targets[r] ? 1 : 0));
  }
  return out;
}

Deno.test("crossEntropy forward matches the float64 reference (mean/sum, weights, masks, bad targets)", async () => {
  for (const [rows, cols] of SHAPES) {
    const x = randomValues(rows * cols, 31, -5, 5);
    const logits = tensorFrom(rt, x, [rows, cols]);
    const targets = targetsFor(rows, cols, 32, 4);
    const t = tensorFrom(rt, targets, [rows], { dtype: "u32" });
    const w = weightsFor(rows, 33);
    const tw = tensorFrom(rt, w, [rows]);
    for (const reduction of ["mean", "sum"] as const) {
      for (const weights of [undefined, tw]) {
        const loss = crossEntropy(logits, t, { weights, reduction });
        assert.deepEqual(loss.shape, [1]);
        const expected = referenceCrossEntropy(x, targets, rows, cols, {
          weights: weights ? w : undefined,
          reduction,
        });
        assertClose(await loss.toArray(), expected, 1e-5, `${rows}×${cols} ${reduction} w=${!!weights}`);
      }
    }
  }
});

Deno.test("crossEntropy: i32 ignore index −100, all-masked rows give 0, logits of ±80 stay finite", async () => {
  const [rows, cols] = [6, 50];
  const x = randomValues(rows * cols, 34).map((v) => (v > 0.2 ? 80 : v < -0.2 ? -80 : 100 * v));
  const logits = tensorFrom(rt, x, [2, 3, cols]); // rank 3: rows are all but the last dimension
  const targets = [3, -100, 49, 0, -100, 7];
  const t = tensorFrom(rt, targets, [2, 3], { dtype: "i32" });
  const u32 = targets.map((v) => v >>> 0);
  for (const reduction of ["mean", "sum"] as const) {
    const loss = await crossEntropy(logits, t, { reduction }).toArray();
    assert.ok(Number.isFinite(loss[0]), "finite loss");
    assertClose(loss, referenceCrossEntropy(x, u32, rows, cols, { reduction }), 1e-5, `±80 ${reduction}`);
  }
  const zero = tensorFrom(rt, new Array(rows).fill(0), [rows]);
  assert.deepEqual([...await crossEntropy(logits, t, { weights: zero }).toArray()], [0]);
  // The gradient at ±80 is finite and matches the analytic one.
  const lx = tensorFrom(rt, x, [rows, cols], { requiresGrad: true });
  backward(crossEntropy(lx, t), tensorFrom(rt, [1], [1]));
  const dx = await lx.grad!.toArray();
  assert.ok(dx.every(Number.isFinite), "finite gradient");
  assertClose(dx, referenceGrad(x, u32, rows, cols, undefined, true, 1), 1e-4, "±80 gradient");
});

Deno.test("crossEntropy rejects mismatched inputs", () => {
  const logits = tensorFrom(rt, randomValues(6, 1), [2, 3]);
  assert.throws(() => crossEntropy(logits, tensorFrom(rt, [0, 1, 2], [3], { dtype: "u32" })), /targets/);
  assert.throws(() => crossEntropy(logits, tensorFrom(rt, [0, 1], [2])), /u32/);
  const t = tensorFrom(rt, [0, 1], [2], { dtype: "u32" });
  assert.throws(() => crossEntropy(logits, t, { weights: tensorFrom(rt, [1], [1]) }), /weights/);
});

Deno.test("crossEntropy backward matches finite differences (weights with zeros, both reductions)", async () => {
  for (const [rows, cols] of SHAPES.slice(0, 3)) {
    const targets = targetsFor(rows, cols, 35, 3);
    const t = tensorFrom(rt, targets, [rows], { dtype: "u32" });
    const w = weightsFor(rows, 36);
    const tw = tensorFrom(rt, w, [rows]);
    for (const reduction of ["mean", "sum"] as const) {
      for (const weighted of [false, true]) {
        const [e] = await gradCheck(
          rt,
          [{ data: randomValues(rows * cols, 37, -4, 4), shape: [rows, cols] }],
          ([x]) => crossEntropy(x, t, { weights: weighted ? tw : undefined, reduction }),
          ([x]) =>
            referenceCrossEntropy(x, targets, rows, cols, { weights: weighted ? w : undefined, reduction }),
        );
        assert.ok(e < 1e-3, `${rows}×${cols} ${reduction} weighted=${weighted}: gradient error ${e}`);
      }
    }
  }
});

Deno.test("crossEntropy backward on 33×1000 matches the analytic float64 gradient", async () => {
  const [rows, cols] = [33, 1000];
  const x = randomValues(rows * cols, 38, -5, 5);
  const targets = targetsFor(rows, cols, 39, 5);
  const t = tensorFrom(rt, targets, [rows], { dtype: "u32" });
  const w = weightsFor(rows, 40);
  for (const [reduction, weights] of [["mean", w], ["sum", undefined]] as const) {
    const lx = tensorFrom(rt, x, [rows, cols], { requiresGrad: true });
    const loss = crossEntropy(lx, t, { weights: weights && tensorFrom(rt, weights, [rows]), reduction });
    backward(loss, tensorFrom(rt, [0.7], [1]));
    const expected = referenceGrad(x, targets, rows, cols, weights, reduction === "mean", 0.7);
    assertClose(await lx.grad!.toArray(), expected, 1e-4, `33×1000 ${reduction}`);
  }
});

Deno.test("tokenLogProbs forward matches the float64 reference (with out-of-range tokens)", async () => {
  for (const [rows, cols] of SHAPES) {
    const x = randomValues(rows * cols, 41, -5, 5);
    const tokens = targetsFor(rows, cols, 42, 5);
    const out = tokenLogProbs(
      tensorFrom(rt, x, [rows, cols]),
      tensorFrom(rt, tokens, [rows], { dtype: "u32" }),
    );
    assert.deepEqual(out.shape, [rows]);
    assertClose(await out.toArray(), referenceTokenLogProbs(x, tokens, rows, cols), 1e-5, `${rows}×${cols}`);
  }
  const x = randomValues(4 * 30, 43).map((v) => 80 * Math.sign(v));
  const lp = await tokenLogProbs(
    tensorFrom(rt, x, [4, 30]),
    tensorFrom(rt, [0, 1, 2, 3], [4], { dtype: "u32" }),
  )
    .toArray();
  assert.ok(lp.every(Number.isFinite), "finite at ±80");
  assertClose(lp, referenceTokenLogProbs(x, [0, 1, 2, 3], 4, 30), 1e-5, "±80");
});

Deno.test("tokenLogProbs backward matches finite differences and the analytic gradient", async () => {
  for (const [rows, cols] of SHAPES) {
    const tokens = targetsFor(rows, cols, 44, 4);
    const t = tensorFrom(rt, tokens, [rows], { dtype: "u32" });
    const x = randomValues(rows * cols, 45, -4, 4);
    if (rows * cols <= 2000) {
      const [e] = await gradCheck(
        rt,
        [{ data: x, shape: [rows, cols] }],
        ([l]) => tokenLogProbs(l, t),
        ([l]) => referenceTokenLogProbs(l, tokens, rows, cols),
      );
      assert.ok(e < 1e-4, `${rows}×${cols}: gradient error ${e}`);
    } else {
      const g = randomValues(rows, 46);
      const lx = tensorFrom(rt, x, [rows, cols], { requiresGrad: true });
      backward(tokenLogProbs(lx, t), tensorFrom(rt, g, [rows]));
      const p = referenceSoftmax(x, rows, cols);
      const expected = new Float64Array(x.length);
      for (let r = 0; r < rows; r++) {
        if (tokens[r] >= cols) continue;
        for (let j = 0; j < cols; j++) {
          expected[r * cols + j] = g[r] * ((j === tokens[r] ? 1 : 0) - p[r * cols + j]);
        }
      }
      assertClose(await lx.grad!.toArray(), expected, 1e-4, `${rows}×${cols}`);
    }
  }
});

Deno.test("crossEntropy and tokenLogProbs keep no statistics when not recording", () => {
  const logits = tensorFrom(rt, randomValues(20, 47), [4, 5], { requiresGrad: true });
  const t = tensorFrom(rt, [0, 1, 2, 3], [4], { dtype: "u32" });
  const once = () => {
    const loss = noGrad(() => crossEntropy(logits, t));
    const lp = noGrad(() => tokenLogProbs(logits, t));
    assert.equal(loss.node, null);
    assert.equal(lp.node, null);
    loss.release();
    lp.release();
  };
  once();
  const created = rt.stats.buffersCreated;
  for (let k = 0; k < 3; k++) once();
  assert.equal(rt.stats.buffersCreated, created, "statistics buffers went back to the pool");
});
