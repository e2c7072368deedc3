import assert from "node:assert/strict";
import { testRuntime } from "./testing.ts";
import { tinyBatch, tinyModel } from "./tiny_transformer.ts";

Deno.test("a tiny transformer trained end to end on the GPU memorises a batch", async () => {
  const rt = await testRuntime();
  const config = { vocab: 16, dim: 32, heads: 2, layers: 1, seq: 12, prefix: 4, batch: 4 };
  const model = tinyModel(rt, config, 0);
  model.optimizer.groups[0].lr = 1e-2;
  const batch = tinyBatch(rt, config, 1);
  const losses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const loss = await rt.scope(() => model.step(batch.ids, batch.targets, batch.weights));
    if (i === 0 || i === 39) losses.push((await loss.toArray())[0]);
    loss.release();
  }
  assert.ok(Math.abs(losses[0] - Math.log(16)) < 0.3, `initial loss ${losses[0]} should be near ln 16`);
  assert.ok(losses[1] < losses[0] * 0.5, `loss went from ${losses[0]} to ${losses[1]}`);
  // The pool stays bounded: every step's activations were reused, not leaked.
  assert.ok(rt.stats.buffersCreated < 2000, `${rt.stats.buffersCreated} buffers created`);
});
