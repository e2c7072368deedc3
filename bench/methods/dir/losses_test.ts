import assert from "node:assert/strict";
import { assertAllClose, assertNear, numericGrad } from "./_testing.ts";
import { weightedFocalL1, weightedFocalMse, weightedHuber, weightedL1, weightedMse } from "./losses.ts";

const PRED = [1.5, -0.3, 2.0, 4.7, 0.1];
const TARGET = [1.0, 0.2, 2.0, 2.0, 0.35];
const W = [1.2, 0.5, 2.0, 0.7, 1.1];

Deno.test("weightedL1 / weightedMse: values by hand, subgradient 0 at a zero error", () => {
  const l1 = weightedL1(PRED, TARGET, W);
  const e = PRED.map((p, i) => p - TARGET[i]);
  assertNear(l1.loss, e.reduce((a, v, i) => a + W[i] * Math.abs(v), 0) / 5, 1e-15);
  assertAllClose(l1.gradPred, e.map((v, i) => (W[i] * Math.sign(v)) / 5), 1e-15);
  assert.equal(l1.gradPred[2], 0);
  const mse = weightedMse(PRED, TARGET);
  assertNear(mse.loss, e.reduce((a, v) => a + v * v, 0) / 5, 1e-15);
  assertAllClose(mse.gradPred, e.map((v) => (2 * v) / 5), 1e-15);
});

Deno.test("losses: gradients match central finite differences", () => {
  // No zero errors here: L1 and Huber are not differentiable at 0 (and Huber's kink at |e| = β).
  const pred = [1.5, -0.3, 2.2, 4.7, 0.1];
  const cases = [
    (p: ArrayLike<number>) => weightedL1(p, TARGET, W),
    (p: ArrayLike<number>) => weightedMse(p, TARGET, W),
    (p: ArrayLike<number>) => weightedHuber(p, TARGET, W),
    (p: ArrayLike<number>) => weightedHuber(p, TARGET, W, 0.3),
    (p: ArrayLike<number>) => weightedFocalL1(p, TARGET, W),
    (p: ArrayLike<number>) => weightedFocalMse(p, TARGET, W),
    (p: ArrayLike<number>) => weightedFocalL1(p, TARGET, W, { activate: "tanh", gamma: 2, beta: 0.5 }),
    (p: ArrayLike<number>) => weightedFocalMse(p, TARGET, W, { gamma: 0.5 }),
  ];
  for (const f of cases) assertAllClose(f(pred).gradPred, numericGrad((p) => f(p).loss, pred), 1e-9);
});

Deno.test("focal: the sigmoid form 2σ(βx) − 1 and its value at a zero error", () => {
  const e = 3;
  const expected = e * (2 / (1 + Math.exp(-0.2 * e)) - 1);
  assertNear(weightedFocalL1([e], [0]).loss, expected, 1e-15);
  assert.deepEqual(Array.from(weightedFocalL1([1], [1]).gradPred), [0]);
  assertNear(weightedHuber([3], [0]).loss, 2.5, 1e-15);
  assertNear(weightedHuber([0.5], [0]).loss, 0.125, 1e-15);
});

Deno.test("losses: length mismatches throw", () => {
  assert.throws(() => weightedL1([1, 2], [1]), RangeError);
  assert.throws(() => weightedMse([1, 2], [1, 2], [1]), RangeError);
});
