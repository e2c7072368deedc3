import assert from "node:assert/strict";
import { loadConfig, type TrainConfig } from "../configs/config.ts";
import { Runtime } from "../gpu/runtime.ts";
import { testRuntime } from "../gpu/testing.ts";
import { attachLora, initVlm } from "../model/vlm.ts";
import { TINY_MODEL } from "./_testing.ts";
import { generatedTask } from "./lm.ts";
import type { TaskData } from "./method.ts";
import { methodById } from "./registry.ts";
import { resolveLogs, type StepLog } from "./step_log.ts";

const base = await testRuntime();

// What makes a step cheap on a real GPU, where the small models are bound by per-dispatch and per-sync
// costs: after the first steps, a step creates no bind group (they are all cached), submits once, and
// reads nothing back unless it must (GRPO reads its sampled tokens to score them, which submits them).
// Both kernel paths: the software adapter's, and a GPU's (a runtime that runs them on this adapter).
Deno.test("a training step in steady state: cached bind groups, one submit, no readback but GRPO's tokens", async () => {
  const config = await loadConfig("quick", [
    ...TINY_MODEL,
    "lora.enabled=true",
    "sft.batch=4",
    "grpo.batch=2",
    "grpo.generations=2",
  ]);
  const data = generatedTask(16, config.model.image, 0);
  for (const fallback of [true, false]) {
    const rt = new Runtime({ ...base.gpu, info: { ...base.gpu.info, fallback } });
    for (const [id, submits, readbacks] of [["sft", 1, 0], ["grpo-ccc", 2, 1]] as const) {
      await checkSteadyState(rt, config, data, id, submits, readbacks);
    }
  }
});

async function checkSteadyState(
  rt: Runtime,
  config: TrainConfig,
  data: TaskData,
  id: string,
  submits: number,
  readbacks: number,
) {
  const what = `${id} (${rt.gpu.info.fallback ? "software-adapter" : "GPU"} kernels)`;
  const model = initVlm(rt, config.model, 0);
  attachLora(model, config.lora, 0);
  const phase = methodById(id).start({ rt, config, data, model });
  const logs: StepLog[] = [];
  for (let i = 0; i < 3; i++) logs.push(await phase.step(i));
  const before = { ...rt.stats };
  for (let i = 3; i < 5; i++) logs.push(await phase.step(i));
  const cost = (key: keyof typeof before) => (rt.stats[key] - before[key]) / 2;
  assert.equal(cost("bindGroups"), 0, `${what}: new bind groups per step`);
  assert.equal(cost("buffersCreated"), 0, `${what}: new buffers per step (a leak would need them)`);
  assert.equal(cost("submits"), submits, `${what}: submits per step`);
  assert.equal(cost("readbacks"), readbacks, `${what}: readbacks per step`);
  assert.ok(cost("dispatches") > 50, `${what}: dispatches per step`);
  const resolved = await resolveLogs(logs);
  assert.ok(resolved.every((r) => Number.isFinite(r.loss)), `${what}: losses read back`);
}
