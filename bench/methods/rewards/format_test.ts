import assert from "node:assert/strict";
import { FORMAT_REWARD, formatOnly, formatReward, formatRewards } from "./format.ts";

const range = [0, 100] as const;

Deno.test("format: 0.5 for a parseable answer in range", () => {
  assert.equal(FORMAT_REWARD, 0.5);
  assert.equal(formatReward("<answer>37</answer>", range), 0.5);
  assert.equal(formatReward("I count them.\n<answer> 37.5 </answer>", range), 0.5);
  assert.equal(formatReward("<answer>0</answer>", range), 0.5); // both ends are in range
  assert.equal(formatReward("<answer>100</answer>", range), 0.5);
  assert.equal(formatReward("<answer>about 42 years</answer>", range), 0.5); // the parser's first number
});

Deno.test("format: 0 without tags, unparseable, out of range or non-finite", () => {
  assert.equal(formatReward("37", range), 0); // no tags (strict parser, no fallback)
  assert.equal(formatReward("<answer>37", range), 0); // unclosed
  assert.equal(formatReward("", range), 0);
  assert.equal(formatReward("<answer>forty</answer>", range), 0);
  assert.equal(formatReward("<answer></answer>", range), 0);
  assert.equal(formatReward("<answer>101</answer>", range), 0);
  assert.equal(formatReward("<answer>-1</answer>", range), 0);
  assert.equal(formatReward(`<answer>${"9".repeat(400)}</answer>`, range), 0); // overflows to Infinity
  // Only the first block counts: a bad first block is not rescued by a later one.
  assert.equal(formatReward("<answer>n/a</answer><answer>37</answer>", range), 0);
});

Deno.test("format: B×K, and the format-only reward adds nothing to it", () => {
  const batch = {
    labels: [1, 2],
    outputs: [["<answer>1</answer>", "x"], ["<answer>200</answer>", "<answer>2</answer>"]],
  };
  assert.deepEqual(formatRewards(batch, { labelRange: range }), [[0.5, 0], [0, 0.5]]);
  assert.deepEqual(formatOnly.compute(batch, { labelRange: range }), [[0, 0], [0, 0]]);
});
