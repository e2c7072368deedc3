import assert from "node:assert/strict";
import { priorBaselines } from "./baselines.ts";

Deno.test("priorBaselines: mean and median of the training labels", () => {
  const [mean, median] = priorBaselines([1, 2, 3, 10]);
  assert.deepEqual([mean.name, mean.value], ["train-mean", 4]);
  assert.deepEqual([median.name, median.value], ["train-median", 2.5]);
  assert.throws(() => priorBaselines([]), RangeError);
});
