import assert from "node:assert/strict";
import { answers, assertClose } from "./_testing.ts";
import { binWeight, discoMae, trainCountsOf } from "./disco.ts";
import { maeReward } from "./mae.ts";

Deno.test("disco: DISCO's hard-coded domain weights are ln(1 + 1/p) (methods.md §4.1)", () => {
  assert.ok(Math.abs(binWeight(3, 4) - 0.847) < 1e-3); // p = 0.75
  assert.ok(Math.abs(binWeight(1, 12) - 2.565) < 1e-3); // p = 1/12
});

Deno.test("disco: training counts per label bin", () => {
  assert.deepEqual(trainCountsOf([0, 1, 1, 3, 3, 3], [0, 4]), [1, 2, 0, 3, 0]);
  assert.deepEqual(trainCountsOf([0, 1, 1, 3, 3, 3, 9], [0, 4], 2), [3, 3, 0]); // 9 is out of range
});

Deno.test("disco-mae: the mae reward times its label bin's weight; no std scaling", () => {
  // Training histogram: label 10 x 9 (head), label 20 x 1 (tail); N = 10.
  const trainCounts = trainCountsOf([...Array(9).fill(10), 20], [0, 50]);
  const ctx = { labelRange: [0, 50] as const, trainCounts };
  const r = discoMae.compute({ labels: [10, 20], outputs: answers([[10, 15], [20, 25]]) }, ctx);
  const head = Math.log(1 + 10 / 9), tail = Math.log(1 + 10);
  assertClose(r, [[head * 1, head * maeReward(15, 10, [0, 50])], [
    tail * 1,
    tail * maeReward(25, 20, [0, 50]),
  ]], 1e-15);
  assert.equal(discoMae.scaleRewards, "none");
});

Deno.test("disco-mae: refuses a missing histogram and a label whose bin is empty", () => {
  const batch = { labels: [10], outputs: answers([[10, 11]]) };
  assert.throws(() => discoMae.compute(batch, { labelRange: [0, 50] }), /trainCounts/);
  const trainCounts = trainCountsOf([20], [0, 50]);
  assert.throws(() => discoMae.compute(batch, { labelRange: [0, 50], trainCounts }), /no training sample/);
});
