/**
 * Tile-shape sweep of the attention kernels on a real GPU:
 * `deno run --allow-read --allow-write --allow-env --allow-sys bench/gpu/attention_tuning.ts`
 * (through `.device/remote.sh` on the GPU machine). `SHAPES` (JSON list of [B, H, S, Dh]) and `CONFIGS` (JSON
 * list of [name, forward tuning, backward tuning or null for forward only]) override the defaults; `MINMS`
 * sets the minimum timing window. Every configuration is checked against the first one's output.
 *
 * @module
 */
import { backward, noGrad } from "./autograd.ts";
import { openGpu } from "./device.ts";
import { timeGpu } from "./measure.ts";
import { attention, attentionBackwardTuning, attentionTuning } from "./ops/attention.ts";
import "./ops/elementwise.ts";
import { runtimeFor } from "./runtime.ts";
import { tensorFrom } from "./tensor.ts";
import { randomValues } from "./testing.ts";

/** The sweep the tiled kernels were first tuned with (forward tile shapes, then forward + backward). */
const DEFAULT_CONFIGS = `[
["fwd-old",{"tiled":false},null],
["fwd-new",{},null],
["fwd-q64t2k16",{"queriesPerBlock":64,"threadsPerQuery":2,"maxKeysPerBlock":16},null],
["fwd-q128t2k8",{"queriesPerBlock":128,"threadsPerQuery":2,"maxKeysPerBlock":8},null],
["fwd-q128t1k16",{"queriesPerBlock":128,"threadsPerQuery":1,"maxKeysPerBlock":16},null],
["fwd-q64t1k16",{"queriesPerBlock":64,"threadsPerQuery":1,"maxKeysPerBlock":16},null],
["fb-old",{"tiled":false},{"tiled":false}],
["fb-newfwd-oldbwd",{},{"tiled":false}],
["fb-b64t2k16",{},{}],
["fb-b32t4k16",{},{"rowsPerBlock":32,"threadsPerRow":4}],
["fb-b64t4k16",{},{"rowsPerBlock":64,"threadsPerRow":4}],
["fb-b128t2k16",{},{"rowsPerBlock":128,"threadsPerRow":2}],
["fb-b64t2k8",{},{"maxStagedPerBlock":8}],
["fb-b32t2k16",{},{"rowsPerBlock":32,"threadsPerRow":2}],
["fb-b128t1k8",{},{"rowsPerBlock":128,"threadsPerRow":1,"maxStagedPerBlock":8}]
]`;

const gpu = await openGpu("deno");
const rt = runtimeFor(gpu);
const out: Record<string, unknown>[] = [];
const log = (r: Record<string, unknown>) => {
  out.push(r);
  console.log(JSON.stringify(r));
};
log({ adapter: gpu.info.description, wgStorage: gpu.limits.maxComputeWorkgroupStorageSize });
const minMs = Number(Deno.env.get("MINMS") ?? 150);
const fwdDefault = { ...attentionTuning }, bwdDefault = { ...attentionBackwardTuning };
const configs: [string, Record<string, unknown>, Record<string, unknown> | null][] = JSON.parse(
  Deno.env.get("CONFIGS") ?? DEFAULT_CONFIGS,
);
for (const [B, H, S, Dh] of JSON.parse(Deno.env.get("SHAPES") ?? "[[16,8,320,64]]") as number[][]) {
  const shape = [B, H, S, Dh], n = B * H * S * Dh, prefix = Math.floor(S * 0.8);
  const [q, k, v, g] = [1, 2, 3, 4].map((s) => tensorFrom(rt, randomValues(n, s), shape));
  let ref: Float32Array[] | null = null;
  for (const [name, fcfg, bcfg] of configs) {
    Object.assign(attentionTuning, fwdDefault, fcfg);
    Object.assign(attentionBackwardTuning, bwdDefault, bcfg ?? {});
    try {
      const r: Record<string, unknown> = { shape: shape.join("x"), name };
      if (bcfg === null) {
        const o = noGrad(() => attention(q, k, v, { prefix }));
        const got = [await o.toArray() as Float32Array];
        o.release();
        const ms = await timeGpu(rt, () => noGrad(() => attention(q, k, v, { prefix }).release()), { minMs });
        Object.assign(r, {
          fwdMs: +ms.toFixed(4),
          tflops: +(4 * B * H * S * S * Dh / (ms * 1e9)).toFixed(3),
        });
        if (ref) r.maxDiff = Math.max(...got[0].map((x, i) => Math.abs(x - ref![0][i])));
        else ref = got;
      } else {
        for (const t of [q, k, v]) t.requiresGrad = true;
        const o = attention(q, k, v, { prefix });
        backward(o, g);
        const grads = [];
        for (const t of [q, k, v]) {
          grads.push(await t.grad!.toArray() as Float32Array);
          t.grad!.release();
          t.grad = null;
        }
        o.release();
        const ms = await timeGpu(rt, () => {
          const o = attention(q, k, v, { prefix });
          backward(o, g);
          for (const t of [q, k, v]) {
            t.grad?.release();
            t.grad = null;
          }
          o.release();
        }, { minMs });
        for (const t of [q, k, v]) t.requiresGrad = false;
        r.fwdBwdMs = +ms.toFixed(4);
        r.gradMaxDiff = ref && ref.length === 3
          ? grads.map((gr, x) => Math.max(...gr.map((y, i) => Math.abs(y - ref![x][i]))))
          : null;
        if (!ref || ref.length !== 3) ref = grads;
      }
      log(r);
    } catch (e) {
      log({ shape: shape.join("x"), name, error: String(e) });
    }
  }
  for (const t of [q, k, v, g]) t.release();
}
const dir = Deno.env.get("OUT");
if (dir) await Deno.writeTextFile(`${dir}/attn.json`, JSON.stringify(out, null, 1));
