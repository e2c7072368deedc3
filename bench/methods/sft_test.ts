import assert from "node:assert/strict";
import { ANSWER_OPEN, DIGIT_0, VOCAB_SIZE } from "../model/vocab.ts";
import { textBatch } from "./lm.ts";
import { softTargets } from "./sft.ts";

Deno.test("softTargets: a Gaussian over digit values for digits, one-hot elsewhere, zero where masked", () => {
  const q = softTargets([DIGIT_0 + 3, ANSWER_OPEN, 0], [1, 1, 0], 1);
  const row = (r: number) => [...q.subarray(r * VOCAB_SIZE, (r + 1) * VOCAB_SIZE)];
  // Two unmasked rows: each sums to 1/2.
  assert.ok(Math.abs(row(0).reduce((a, b) => a + b, 0) - 0.5) < 1e-6);
  assert.ok(Math.abs(row(1)[ANSWER_OPEN] - 0.5) < 1e-7);
  assert.ok(row(2).every((v) => v === 0));
  const digits = row(0).slice(DIGIT_0, DIGIT_0 + 10);
  // Peak at 3, symmetric around it, ratio exp(−1/2) one digit away.
  assert.equal(digits.indexOf(Math.max(...digits)), 3);
  assert.ok(Math.abs(digits[2] - digits[4]) < 1e-7);
  assert.ok(Math.abs(digits[2] / digits[3] - Math.exp(-0.5)) < 1e-5);
});

Deno.test("textBatch: task token, then the answer shifted by one; targets end with EOS; padding masked", () => {
  const b = textBatch([7], 21, 0, 6);
  assert.deepEqual(b.inputs, [21, 3, 12, 4, 2, 0]);
  assert.deepEqual(b.targets, [3, 12, 4, 2, 0, 0]);
  assert.deepEqual(b.mask, [1, 1, 1, 1, 0, 0]);
  assert.throws(() => textBatch([100.5], 21, 1, 6), /more than model.textLength/);
});
