import assert from "node:assert/strict";
import { answers } from "./_testing.ts";
import { againstOtherAnchors, checkBatch, resolvePredictions, validPrediction } from "./reward.ts";

const ctx = { labelRange: [0, 100] as const };

Deno.test("validPrediction: the strict parser, limited to the label range", () => {
  assert.equal(validPrediction("<answer>12</answer>", [0, 100]), 12);
  assert.equal(validPrediction("12", [0, 100]), null);
  assert.equal(validPrediction("<answer>120</answer>", [0, 100]), null);
});

Deno.test("resolvePredictions: invalid outputs take the mean of the valid ones (§8.3)", () => {
  const r = resolvePredictions({
    labels: [10, 20],
    outputs: [["<answer>10</answer>", "bad", "<answer>20</answer>"], [
      "<answer>30</answer>",
      "<answer>500</answer>",
      "?",
    ]],
  }, ctx);
  assert.deepEqual(r.values, [[10, 15, 20], [30, 30, 30]]);
  assert.deepEqual(r.valid, [[true, false, true], [true, false, false]]);
  assert.deepEqual(r.anchors, [15, 30]);
});

Deno.test("resolvePredictions: an anchorless sample takes trainMean, else the range's midpoint", () => {
  const batch = { labels: [10, 20], outputs: [["x", "y"], ["<answer>30</answer>", "<answer>31</answer>"]] };
  assert.deepEqual(resolvePredictions(batch, ctx).values[0], [50, 50]);
  assert.deepEqual(resolvePredictions(batch, { ...ctx, trainMean: 33 }).values[0], [33, 33]);
  assert.deepEqual(resolvePredictions(batch, ctx).anchors, [null, 30.5]);
});

Deno.test("againstOtherAnchors: drops anchorless samples from every vector", () => {
  const batch = { labels: [1, 2, 3], outputs: [["a", "b"], ...answers([[5, 6], [7, 8]])] };
  const seen: number[][][] = [];
  againstOtherAnchors(batch, resolvePredictions(batch, ctx), (p, t) => {
    seen.push([[...p], [...t]]);
    return null;
  });
  assert.deepEqual(seen, [
    [[50, 5.5, 7.5], [1, 2, 3]],
    [[50, 5.5, 7.5], [1, 2, 3]],
    [[5, 7.5], [2, 3]],
    [[6, 7.5], [2, 3]],
    [[7, 5.5], [3, 2]],
    [[8, 5.5], [3, 2]],
  ]);
});

Deno.test("checkBatch: refuses malformed batches and ranges", () => {
  const ok = { labels: [1], outputs: [["x"]] };
  assert.throws(() => checkBatch({ labels: [], outputs: [] }, ctx), /empty/);
  assert.throws(() => checkBatch({ labels: [1, 2], outputs: [["x"]] }, ctx), /2 labels but 1 rows/);
  assert.throws(() => checkBatch({ labels: [1, 2], outputs: [["x"], ["y", "z"]] }, ctx), /sample 1 has 2/);
  assert.throws(() => checkBatch({ labels: [1], outputs: [[]] }, ctx), /no generations/);
  assert.throws(() => checkBatch({ labels: [101], outputs: [["x"]] }, ctx), /label 0/);
  assert.throws(() => checkBatch(ok, { labelRange: [5, 5] }), /labelRange/);
  assert.throws(() => checkBatch(ok, { labelRange: [0, NaN] }), /labelRange/);
  checkBatch(ok, ctx);
});
