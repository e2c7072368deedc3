/**
 * Host cost of recording ops: `deno bench --allow-all bench/gpu/dispatch_bench.ts`.
 *
 * Each iteration records 100 calls of an op into the current command encoder (a GPU's kernels, on
 * whatever adapter is present) and nothing else: the GPU work is submitted and waited for outside the
 * timed region, so the figures are the host time per 100 calls, the part of a small model's step that a
 * fast GPU cannot hide (about 8 of the 8.2 ms of a paper-preset LoRA SFT step on an H100). Divide by 100
 * for µs per call.
 */

import { backward, noGrad } from "./autograd.ts";
import { sync } from "./measure.ts";
import { gelu } from "./ops/elementwise.ts";
import { add } from "./ops/elementwise.ts";
import { layerNorm } from "./ops/layernorm.ts";
import { matmul } from "./ops/matmul.ts";
import { Runtime } from "./runtime.ts";
import { full, tensorFrom } from "./tensor.ts";
import { defaultGpu } from "./device.ts";
import { randomValues } from "./testing.ts";

const gpu = await defaultGpu();
// The GPU's kernels (not the software adapter's texture kernels): what a GPU's step records.
const rt = new Runtime({ ...gpu, info: { ...gpu.info, fallback: false } });
const x = tensorFrom(rt, randomValues(64 * 64, 1), [64, 64]);
const w = tensorFrom(rt, randomValues(64 * 64, 2), [64, 64]);
const bias = tensorFrom(rt, randomValues(64, 3), [64]);
const gain = tensorFrom(rt, randomValues(64, 4), [64]);
for (const p of [w, bias]) p.requiresGrad = true;

const CALLS = 100;

/** Times `CALLS` calls of `op` per iteration, in a scope; the GPU runs them outside the timed part. */
function benchOp(name: string, op: () => void) {
  Deno.bench({
    name,
    group: "host time per 100 calls",
    baseline: name === "add (no grad)",
    warmup: 20,
    n: 200,
    async fn(b) {
      await sync(rt);
      b.start();
      await rt.scope(() => {
        for (let i = 0; i < CALLS; i++) op();
      });
      b.end();
      rt.flush();
    },
  });
}

benchOp("add (no grad)", () => noGrad(() => add(x, x)));
benchOp("gelu (no grad)", () => noGrad(() => gelu(x)));
benchOp("layer norm (no grad)", () => noGrad(() => layerNorm(x, gain, bias)));
benchOp("matmul (no grad)", () => noGrad(() => matmul(x, w)));
benchOp("matmul + bias + GELU (no grad)", () => noGrad(() => matmul(x, w, { bias, activation: "gelu" })));
benchOp("MLP forward and backward (10 dispatches)", () => {
  const y = matmul(gelu(matmul(x, w, { bias })), w);
  backward(y, full(rt, [64, 64], 1));
  for (const p of [w, bias]) {
    p.grad?.release();
    p.grad = null;
  }
});
