/**
 * End-to-end tests of `deno task rewards`: the real CLI in a subprocess, against the methods.md test
 * vectors and the library it shares with the trainer.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { scoreBatch } from "../bench/methods/rewards/registry.ts";
import { trainCountsOf } from "../bench/methods/rewards/disco.ts";
import { assertRefused, type Run, runScript, withTempDir } from "./_testing.ts";

const REWARDS = fileURLToPath(new URL("./rewards.ts", import.meta.url));

const a = (v: number) => `<answer>${v}</answer>`;

/** The methods.md §8.4 batch. */
const VECTOR = {
  reward: "ccc",
  labels: [20, 40, 60],
  predictions: [[22, 30], [43, 38], [55, 70]].map((row) => row.map(a)),
  labelRange: [0, 100],
};

/** Runs the real rewards CLI with `args`, with the permissions `deno task rewards` grants. */
function runRewards(args: string[]): Promise<Run> {
  return runScript(REWARDS, args, ["--allow-read"]);
}

const close = (actual: number[][], expected: number[][], tol: number) =>
  actual.forEach((row, i) =>
    row.forEach((v, k) =>
      assert.ok(Math.abs(v - expected[i][k]) <= tol, `[${i}][${k}] ${v} ≉ ${expected[i][k]}`)
    )
  );

Deno.test("rewards: the CLI end to end", async (t) => {
  await withTempDir("dirbench-rewards-test-", async (tmp) => {
    const write = async (name: string, value: unknown) => {
      const path = join(tmp, name);
      await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
      return path;
    };

    await t.step("the methods.md §8.4 vector: exact JSON on stdout", async () => {
      const run = await runRewards(["--input", await write("ccc.json", VECTOR)]);
      assert.equal(run.code, 0, run.stderr);
      const expected = scoreBatch("ccc", { labels: VECTOR.labels, outputs: VECTOR.predictions }, {
        labelRange: [0, 100],
      });
      assert.equal(run.stdout, JSON.stringify(expected) + "\n");
      const out = JSON.parse(run.stdout);
      assert.deepEqual(Object.keys(out), ["rewards", "advantages"]);
      close(out.rewards, [[1.493560, 1.424280], [1.466088, 1.469295], [1.449846, 1.428148]], 5e-7);
      close(out.advantages, [[0.705666, -0.705666], [-0.677241, 0.677241], [0.702528, -0.702528]], 5e-7);
    });

    await t.step("--scale-rewards none gives the no-std column of §8.4", async () => {
      const run = await runRewards(["--input", await write("ccc.json", VECTOR), "--scale-rewards", "none"]);
      assert.equal(run.code, 0, run.stderr);
      close(JSON.parse(run.stdout).advantages, [[0.034640, -0.034640], [-0.001603, 0.001603], [
        0.010849,
        -0.010849,
      ]], 5e-7);
    });

    await t.step(
      "disco-mae takes trainLabels; the task shows GRPO's default (group std) advantages",
      async () => {
        const input = { ...VECTOR, reward: "disco-mae", trainLabels: [20, 20, 20, 40, 60, 60] };
        const ctx = {
          labelRange: [0, 100] as const,
          trainCounts: trainCountsOf(input.trainLabels, [0, 100]),
          trainMean: 220 / 6,
        };
        const batch = { labels: input.labels, outputs: input.predictions };
        const run = await runRewards(["--input", await write("disco.json", input)]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, JSON.stringify(scoreBatch("disco-mae", batch, ctx, "group")) + "\n");
        // With --scale-rewards none the bin weights survive: label 40 is 1 of 6 training samples, w = ln 7;
        // mae rewards 0.97, 0.98, so the advantages are ∓0.005·w.
        const none = await runRewards([
          "--input",
          await write("disco.json", input),
          "--scale-rewards",
          "none",
        ]);
        assert.equal(none.stdout, JSON.stringify(scoreBatch("disco-mae", batch, ctx, "none")) + "\n");
        close([JSON.parse(none.stdout).advantages[1]], [[-0.005 * Math.log(7), 0.005 * Math.log(7)]], 1e-12);
      },
    );

    await t.step("malformed JSON names the file", async () => {
      const file = await write("bad.json", "{ not json");
      assertRefused(await runRewards(["--input", file]), [file, "malformed JSON"], 1);
    });

    await t.step("B mismatch between labels and predictions", async () => {
      const file = await write("b.json", { ...VECTOR, labels: [20, 40] });
      assertRefused(await runRewards(["--input", file]), [file, "2 labels but 3 rows", "B must match"], 1);
    });

    await t.step("unknown reward id", async () => {
      const file = await write("id.json", { ...VECTOR, reward: "mse" });
      assertRefused(await runRewards(["--input", file]), [file, `unknown reward "mse"`, "ccc"], 1);
    });

    await t.step("missing labelRange", async () => {
      const { labelRange: _, ...rest } = VECTOR;
      const file = await write("range.json", rest);
      assertRefused(await runRewards(["--input", file]), [file, `"labelRange" is missing`], 1);
    });

    await t.step("disco-mae without trainLabels, and a label whose bin has none", async () => {
      const file = await write("disco-bad.json", { ...VECTOR, reward: "disco-mae" });
      assertRefused(await runRewards(["--input", file]), [file, "disco-mae needs", "trainLabels"], 1);
      const empty = await write("disco-empty.json", {
        ...VECTOR,
        reward: "disco-mae",
        trainLabels: [20, 60],
      });
      assertRefused(await runRewards(["--input", empty]), [empty, "no training sample"], 1);
    });

    await t.step("other shape errors: K < 2, ragged rows, non-string texts, out-of-range label", async () => {
      const cases: [unknown, string][] = [
        [{ ...VECTOR, predictions: [[a(1)], [a(2)], [a(3)]] }, "K ≥ 2"],
        [{ ...VECTOR, predictions: [[a(1), a(2)], [a(2)], [a(3), a(4)]] }, "predictions[1] has 1 texts"],
        [{ ...VECTOR, predictions: [[1, 2], [3, 4], [5, 6]] }, "array of arrays of strings"],
        [{ ...VECTOR, labels: [20, 40, 160] }, "labels[2] = 160 lies outside labelRange"],
        [[1, 2], "expected a JSON object"],
      ];
      for (const [i, [value, part]] of cases.entries()) {
        const file = await write(`shape${i}.json`, value);
        assertRefused(await runRewards(["--input", file]), [file, part], 1);
      }
    });

    await t.step("usage errors exit 2; a missing file exits 1 naming it", async () => {
      assertRefused(await runRewards([]), ["--input is required", "usage:"], 2);
      const file = await write("ok.json", VECTOR);
      assertRefused(await runRewards(["--input", file, "--scale-rewards", "huge"]), ["--scale-rewards"], 2);
      const missing = join(tmp, "missing.json");
      assertRefused(await runRewards(["--input", missing]), [missing, "not found"], 1);
    });
  });
});
