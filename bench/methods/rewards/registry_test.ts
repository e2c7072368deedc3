import assert from "node:assert/strict";
import { answers } from "./_testing.ts";
import { REWARD_IDS, rewardById, scoreBatch, totalRewards } from "./registry.ts";
import { trainCountsOf } from "./disco.ts";

Deno.test("registry: the issue's ids, each with a description", () => {
  assert.deepEqual([...REWARD_IDS].sort(), ["ccc", "disco-mae", "format", "mae", "ranking", "spearman"]);
  for (const id of REWARD_IDS) assert.ok(rewardById(id).description.length > 0);
  assert.throws(() => rewardById("nope"), /unknown reward "nope" \(known: format, mae/);
});

Deno.test("registry: total = format term + reward, for every id", () => {
  const labelRange = [0, 100] as const;
  const batch = {
    labels: [20, 40, 60, 80],
    outputs: [["<answer>22</answer>", "x"], ...answers([[43, 38], [55, 70], [80, 81]])],
  };
  const ctx = { labelRange, trainCounts: trainCountsOf([20, 40, 40, 60, 80, 80, 80], labelRange) };
  for (const id of REWARD_IDS) {
    const total = totalRewards(id, batch, ctx), part = rewardById(id).compute(batch, ctx);
    total.forEach((row, i) =>
      row.forEach((v, k) => assert.equal(v, (i === 0 && k === 1 ? 0 : 0.5) + part[i][k]))
    );
  }
  assert.deepEqual(totalRewards("format", batch, ctx)[0], [0.5, 0]);
});

Deno.test("registry: scoreBatch scales as the reward says unless told otherwise", () => {
  const labelRange = [0, 100] as const;
  const batch = { labels: [20, 40], outputs: answers([[20, 30], [40, 45]]) };
  const ctx = { labelRange, trainCounts: trainCountsOf([20, 40, 40], labelRange) };
  const disco = scoreBatch("disco-mae", batch, ctx);
  const w = Math.log(1 + 3);
  assert.ok(Math.abs(disco.advantages[0][0] - w * 0.05) < 1e-12); // (1 − 0.9)/2 · w, no std division
  const grouped = scoreBatch("disco-mae", batch, ctx, "group");
  assert.ok(Math.abs(grouped.advantages[0][0] - 0.05 / (Math.sqrt(0.005) * 1 + 1e-4 / w)) < 1e-9);
  assert.ok(
    Math.abs(scoreBatch("mae", batch, ctx).advantages[0][0] - 0.05 / (Math.sqrt(0.005) + 1e-4)) < 1e-12,
  );
});
