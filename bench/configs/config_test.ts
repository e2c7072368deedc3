import assert from "node:assert/strict";
import { InputError } from "../core/errors.ts";
import { loadConfig, PRESETS } from "./config.ts";

Deno.test("loadConfig: both presets validate, and --set overrides with typed values", async () => {
  const quick = await loadConfig("quick");
  const paper = await loadConfig("paper");
  assert.equal(quick.preset, "quick");
  assert.equal(paper.lora.rank, 64);
  assert.equal(paper.lora.alpha, 128);
  assert.equal(paper.grpo.generations, 4);
  const c = await loadConfig(PRESETS.quick, [
    "grpo.beta=0",
    "lora.targets=[wq, wv]",
    "optim.schedule=constant",
  ]);
  assert.equal(c.grpo.beta, 0);
  assert.deepEqual(c.lora.targets, ["wq", "wv"]);
  assert.equal(c.optim.schedule, "constant");
});

Deno.test("loadConfig: typos, wrong types and bad choices are errors naming the setting", async () => {
  await assert.rejects(() => loadConfig("quick", ["grpo.bta=0"]), /unknown setting grpo.bta/);
  await assert.rejects(() => loadConfig("quick", ["grpo.beta=high"]), /grpo.beta must be a number/);
  await assert.rejects(() => loadConfig("quick", ["optim.schedule=linear"]), /optim.schedule must be one of/);
  await assert.rejects(() => loadConfig("quick", ["sft.batch=0"]), /sft.batch must be a positive integer/);
  await assert.rejects(() => loadConfig("quick", ["grpo.generations=1"]), /at least 2/);
  await assert.rejects(() => loadConfig("quick", ["nonsense"]), InputError);
  await assert.rejects(() => loadConfig("/nonexistent/config.yaml"), /not found/);
});
