import assert from "node:assert/strict";
import { ccc as lin } from "../../score/metrics.ts";
import { grpoAdvantages } from "../advantages.ts";
import { answers, assertClose } from "./_testing.ts";
import { ccc } from "./ccc.ts";
import { totalRewards } from "./registry.ts";

const ctx = { labelRange: [0, 100] as const };

Deno.test("ccc: the scorer's CCC is Lin's population form (methods.md §8.1 test vector)", () => {
  assert.ok(Math.abs(lin([2.5, 0, 2, 8], [3, -0.5, 2, 7])! - 0.976789) < 1e-6);
});

Deno.test("ccc: the methods.md §8.4 batch-level test vector (rewards with the format term)", () => {
  const batch = { labels: [20, 40, 60], outputs: answers([[22, 30], [43, 38], [55, 70]]) };
  const r = totalRewards("ccc", batch, ctx);
  assertClose(r, [[1.493560, 1.424280], [1.466088, 1.469295], [1.449846, 1.428148]], 5e-7);
  // The first entry by hand: [22, 40.5, 62.5] against [20, 40, 60].
  assert.equal(ccc.compute(batch, ctx)[0][0], lin([22, 40.5, 62.5], [20, 40, 60]));
});

Deno.test("ccc: invalid outputs take the group's valid mean and lose the format term (§8.3)", () => {
  const batch = {
    labels: [20, 40, 60, 80],
    outputs: [
      ["<answer>22</answer>", "no answer", "<answer>30</answer>"],
      ...answers([[43, 38, 40], [55, 70, 60], [80, 81, 79]]),
    ],
  };
  const r = totalRewards("ccc", batch, ctx);
  const valid = totalRewards("ccc", {
    ...batch,
    outputs: [answers([[22, 26, 30]])[0], ...batch.outputs.slice(1)],
  }, ctx);
  // Substituting 26 = mean(22, 30): the same CCC as a valid 26, minus the 0.5 format term.
  assertClose(r, valid.map((row, i) => row.map((v, k) => (i === 0 && k === 1 ? v - 0.5 : v))), 1e-15);
  // Out of range counts as invalid too; so does a number too long for float64.
  const wild = {
    ...batch,
    outputs: [
      ["<answer>22</answer>", "<answer>1000</answer>", `<answer>${"9".repeat(400)}</answer>`],
      ...batch.outputs.slice(1),
    ],
  };
  const w = totalRewards("ccc", wild, ctx);
  assert.equal(w[0][1], w[0][2]);
  assert.ok(w[0][0] - w[0][1] > 0.4, "the valid output must win by about the format term");
  assert.ok(grpoAdvantages(w)[0][0] > 0);
  for (const row of w) for (const v of row) assert.ok(Number.isFinite(v));
});

Deno.test("ccc: an anchorless sample is dropped from the others' vectors and gets zero advantage", () => {
  const batch = {
    labels: [20, 40, 60, 80],
    outputs: [["?", "?"], ...answers([[43, 38], [55, 70], [80, 81]])],
  };
  const r = ccc.compute(batch, ctx);
  const without = ccc.compute({ labels: [40, 60, 80], outputs: batch.outputs.slice(1) }, ctx);
  assert.deepEqual(r.slice(1), without);
  assert.equal(r[0][0], r[0][1]);
  assert.deepEqual(grpoAdvantages(totalRewards("ccc", batch, ctx))[0], [0, 0]);
});

Deno.test("ccc: degenerate vectors score 0, never NaN", () => {
  // B = 1: a one-entry vector (0/0 in the scorer's CCC).
  assert.deepEqual(ccc.compute({ labels: [20], outputs: answers([[20, 30]]) }, ctx), [[0, 0]]);
  // Every prediction and label the same constant.
  assert.deepEqual(ccc.compute({ labels: [5, 5], outputs: answers([[5, 5], [5, 5]]) }, ctx), [[0, 0], [
    0,
    0,
  ]]);
});

Deno.test("ccc: the reward peaks near the label (methods.md §8.4 sanity property)", () => {
  const argmax = (i: number) => {
    let best = -Infinity, at = NaN;
    for (let q = 0; q <= 100; q += 0.1) {
      const outputs = answers([[22, 30], [43, 38], [55, 70]]);
      outputs[i] = [`<answer>${q.toFixed(1)}</answer>`, outputs[i][1]];
      const v = ccc.compute({ labels: [20, 40, 60], outputs }, ctx)[i][0];
      if (v > best) [best, at] = [v, q];
    }
    return at;
  };
  // Only q_k(x_i) moves: sample i's own anchor is not in its vector. methods.md: about 19.9, 40.0, 60.5.
  for (const [i, at] of [[0, 19.9], [1, 40.0], [2, 60.5]]) {
    assert.ok(Math.abs(argmax(i) - at) < 0.051, `i=${i}: ${argmax(i)}`);
  }
});
