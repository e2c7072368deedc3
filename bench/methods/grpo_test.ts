import assert from "node:assert/strict";
import { EOS } from "../model/vocab.ts";
import { groupAdvantages } from "./advantages.ts";
import { completionMask, grpoMethods, regGrpoGradient, rewardStats, rewardSuffix } from "./grpo.ts";

Deno.test("completionMask: up to and including the first EOS; a truncated completion keeps every token", () => {
  // Two sequences, three steps, step-major: sequence 0 emits EOS at step 1; sequence 1 never does.
  const tokens = [5, 6, EOS, 7, 9, 8];
  assert.deepEqual([...completionMask(tokens, 2, 3)], [1, 1, 0, 1, 1, 1]);
});

Deno.test("regGrpoGradient: zero log-ratios give −2Â/(K·ε·B); the gradient matches central differences elsewhere", () => {
  const targets = groupAdvantages([[1, 0, 0.5, 1], [0.2, 0.4, 0.4, 0.9]]);
  const zero = targets.map((row) => row.map(() => 0));
  const at0 = regGrpoGradient(targets, zero, 1);
  targets.forEach((row, i) =>
    row.forEach((a, k) => assert.ok(Math.abs(at0.grad[i][k] + (2 * a) / (4 * 1 * 2)) < 1e-12))
  );
  // With ρ ≠ 0 the std is held fixed (detached), so differentiate with c frozen at its value.
  const rho = [[0.1, -0.2, 0.05, 0.3], [0.0, 0.2, -0.1, 0.15]];
  const { grad } = regGrpoGradient(targets, rho, 0.5);
  const frozen = (r: number[][]) => {
    let loss = 0;
    r.forEach((row, i) => {
      const m0 = rho[i].reduce((s, v) => s + v, 0) / 4;
      const c = Math.sqrt(rho[i].reduce((s, v) => s + (v - m0) ** 2, 0) / 3) + 0.5;
      const m = row.reduce((s, v) => s + v, 0) / 4;
      row.forEach((v, k) => loss += ((v - m) / c - targets[i][k]) ** 2 / 4 / 2);
    });
    return loss;
  };
  rho.forEach((row, i) =>
    row.forEach((_, k) => {
      const up = rho.map((r) => [...r]), down = rho.map((r) => [...r]);
      up[i][k] += 1e-6;
      down[i][k] -= 1e-6;
      assert.ok(Math.abs((frozen(up) - frozen(down)) / 2e-6 - grad[i][k]) < 1e-6);
    })
  );
});

Deno.test("rewardStats and the method ids", () => {
  const s = rewardStats([[1, 1], [0, 2]]);
  assert.equal(s.reward_mean, 1);
  assert.equal(s.frac_reward_zero_std, 0.5);
  assert.equal(rewardSuffix("disco-mae"), "disco");
  const ids = grpoMethods().map((m) => m.id);
  for (
    const id of [
      "grpo-mae",
      "grpo-disco",
      "grpo-ranking",
      "grpo-spearman",
      "grpo-ccc",
      "dr-grpo-ccc",
      "reg-grpo-ccc",
    ]
  ) {
    assert.ok(ids.includes(id), id);
  }
});
