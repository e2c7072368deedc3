/**
 * `deno task train --data <prepared dir> --method <id> [--config <preset|yaml>] [--set key=value ...]
 * --out <run dir> [--resume]`: trains a method on the WebGPU engine and scores it; see bench/train.ts.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadConfig } from "../bench/configs/config.ts";
import type { GpuBackend } from "../bench/gpu/device.ts";
import { METHOD_IDS } from "../bench/methods/registry.ts";
import { StoppedEarly, train } from "../bench/train.ts";
import { intFlag, runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task train --data <prepared dir> --method <id> --out <run dir>
                       [--config quick|paper|<file.yaml>] [--set key=value ...] [--resume]

  --data <dir>        a prepared dataset (deno task prepare)
  --method <id>       one of: ${METHOD_IDS.join(", ")}
                      (deno task methods lists them with descriptions)
  --out <dir>         run directory: config.json, log.jsonl, checkpoints/, predictions.jsonl, results.json
  --config <c>        a preset (quick, the default; paper) or a YAML file in the same shape
  --set key=value     override one setting, e.g. --set grpo.beta=0 --set sft.epochs=2 (repeatable)
  --resume            continue the run in --out from its last checkpoint (same method and config)
  --stop-after <n>    stop right after the checkpoint at step n, as a crash would (for testing --resume)
  --gpu <impl>        deno (built-in wgpu, default) or dawn (npm:webgpu, where it loads)
  --quiet             no progress output`;

if (import.meta.main) {
  await runTask("train", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        data: { type: "string" },
        method: { type: "string" },
        out: { type: "string" },
        config: { type: "string" },
        set: { type: "string", multiple: true },
        resume: { type: "boolean" },
        "stop-after": { type: "string" },
        gpu: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    if (!values.data) throw new UsageError("--data is required");
    if (!values.method) throw new UsageError("--method is required");
    if (!values.out) throw new UsageError("--out is required");
    if (!METHOD_IDS.includes(values.method)) {
      throw new UsageError(`unknown method "${values.method}"; deno task methods lists them`);
    }
    const gpu = values.gpu ?? "deno";
    if (gpu !== "deno" && gpu !== "dawn") throw new UsageError(`--gpu must be deno or dawn, got ${gpu}`);
    const source = values.config ?? "quick";
    const config = await loadConfig(source, values.set ?? []);
    const stopAfter = values["stop-after"] === undefined
      ? undefined
      : intFlag(values["stop-after"], "stop-after", 0, 1);
    try {
      const out = await train({
        data: values.data,
        method: values.method,
        config,
        configSource: source,
        out: values.out,
        resume: values.resume,
        stopAfter,
        gpu: gpu as GpuBackend,
        quiet: values.quiet,
      });
      const m = out.results.metrics;
      const f = (r: { mae: number | null }) => r.mae === null ? "—" : r.mae.toFixed(2);
      console.log(
        `${values.method}: MAE all ${f(m.all)} · many ${f(m.many)} · medium ${f(m.medium)} · few ${
          f(m.few)
        }` +
          ` (train ${out.seconds.train.toFixed(1)} s at ${out.samplesPerSecond.toFixed(1)} samples/s,` +
          ` backbone ${out.seconds.backbone.toFixed(1)} s,` +
          (out.seconds.start > 0 ? ` SFT start ${out.seconds.start.toFixed(1)} s,` : "") +
          ` predict ${out.seconds.predict.toFixed(1)} s)`,
      );
      console.log(`wrote ${values.out}/results.json`);
    } catch (e) {
      if (e instanceof StoppedEarly) {
        console.error(`train: ${e.message}; continue with --resume`);
        Deno.exit(3);
      }
      throw e;
    }
  });
}
