import assert from "node:assert/strict";
import { join } from "node:path";
import { assertRefused, exists, runScript, withTempDir, writeToyDataset } from "./_testing.ts";

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run=git",
];
const train = (args: string[]) => runScript("tasks/train.ts", args, PERMISSIONS);

Deno.test("train CLI: bad input exits non-zero with a clear message and writes no run directory", async () => {
  await withTempDir("dirbench-train-cli-", async (dir) => {
    const out = join(dir, "run");
    assertRefused(await train(["--data", dir, "--method", "sft"]), ["--out is required"], 2);
    assertRefused(
      await train(["--data", dir, "--method", "nope", "--out", out]),
      ['unknown method "nope"'],
      2,
    );
    assertRefused(await train(["--data", join(dir, "missing"), "--method", "sft", "--out", out]), [
      "manifest",
    ], 1);
    await writeToyDataset(join(dir, "toy"));
    assertRefused(
      await train(["--data", join(dir, "toy"), "--method", "sft", "--out", out, "--set", "grpo.bta=1"]),
      ["unknown setting grpo.bta"],
      1,
    );
    assertRefused(
      await train(["--data", join(dir, "toy"), "--method", "sft", "--out", out, "--set", "sft.batch=two"]),
      ["sft.batch must be a number", "--set sft.batch=two"],
      1,
    );
    await Deno.writeTextFile(join(dir, "file"), "x");
    assertRefused(
      await train(["--data", join(dir, "toy"), "--method", "sft", "--out", join(dir, "file")]),
      ["--out must be a run directory"],
      1,
    );
    // The toy dataset has no images: refused before anything is written.
    assertRefused(await train(["--data", join(dir, "toy"), "--method", "sft", "--out", out]), [
      "has no image",
    ], 1);
    assert.equal(await exists(out), false);
  });
});
