/**
 * `deno task bench:train [--config quick|paper|<yaml>] [--set key=value ...] [--steps N] [--out file.json]`:
 * training throughput of SFT and GRPO (samples, i.e. prompts, per second) on the WebGPU engine, and the
 * GRPO/SFT cost ratio per sample, with the config's model and batch sizes on generated images (no
 * dataset needed). The first steps compile pipelines and are not timed. It also gives the ratio per
 * run, as the paper reports it (about 6×: 3 h of GRPO against 30 min of SFT): each method's epochs of its
 * config on `--train-size` samples, from the measured step times (the GRPO phase alone, without the SFT
 * run it starts from). And sampling alone: K answers per image for a batch of B images, in inputs/s.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadConfig } from "../bench/configs/config.ts";
import { writeJsonAtomic } from "../bench/core/fs.ts";
import { collectProvenance } from "../bench/core/provenance.ts";
import { openGpu } from "../bench/gpu/device.ts";
import { type KernelProfile, runtimeFor } from "../bench/gpu/runtime.ts";
import { stepsFor } from "../bench/methods/lm.ts";
import { methodById } from "../bench/methods/registry.ts";
import type { TaskData } from "../bench/methods/method.ts";
import { quantitySet } from "../bench/model/quantity.ts";
import { maxAnswerTokens, TASK_TOKENS } from "../bench/model/vocab.ts";
import { imageBatch } from "../bench/model/images.ts";
import { attachLora, generate, initVlm } from "../bench/model/vlm.ts";
import { intFlag, runTask } from "./_cli.ts";

const USAGE =
  `usage: deno task bench:train [--config quick|paper|<file.yaml>] [--set key=value ...] [--steps N]
                             [--methods sft,grpo-ccc] [--train-size N] [--profile]
                             [--out results.json]

  --steps <n>       timed steps per method after 2 warm-up steps (default 5)
  --train-size <n>  training-set size for the per-run cost (default 1000)
  --profile         time each kernel of one more step per method (timestamp queries) and print the
                    most expensive; with --out, the whole table goes into the JSON
  --methods <l>   comma-separated method ids (default sft,grpo-ccc)`;

if (import.meta.main) {
  await runTask("bench:train", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        set: { type: "string", multiple: true },
        steps: { type: "string" },
        methods: { type: "string" },
        "train-size": { type: "string" },
        profile: { type: "boolean" },
        out: { type: "string" },
      },
      strict: true,
    });
    const source = values.config ?? "quick";
    const config = await loadConfig(source, values.set ?? []);
    const steps = intFlag(values.steps, "steps", 5, 1);
    const trainSize = intFlag(values["train-size"], "train-size", 1000, 1);
    const methods = (values.methods ?? "sft,grpo-ccc").split(",");
    const gpu = await openGpu();
    const rt = runtimeFor(gpu);
    console.log(
      `adapter: ${gpu.info.description}${gpu.info.fallback ? " (software)" : ""}; config ${source}`,
    );
    // Enough generated samples for the warm-up and timed steps of the largest batch.
    const batch = Math.max(config.sft.batch, config.grpo.batch, config.regression.batch);
    const n = batch * (steps + 3);
    const set = quantitySet(n, config.model.image, 100, config.seed);
    const data: TaskData = {
      id: "generated",
      taskToken: TASK_TOKENS.synthetic,
      decimals: 0,
      answerTokens: maxAnswerTokens(0, 100, 0),
      labelRange: [0, 100],
      binWidth: 1,
      train: { ids: set.labels.map((_, i) => `${i}`), images: set.images, labels: set.labels },
      test: { ids: [], images: { side: config.model.image, count: 0, pixels: new Uint8Array() } },
    };
    const results: { method: string; batch: number; msPerStep: number; samplesPerSecond: number }[] = [];
    const profiles: { method: string; stepMs: number; kernels: KernelProfile[] }[] = [];
    for (const id of methods) {
      const method = methodById(id);
      const model = initVlm(rt, config.model, config.seed);
      if (method.family !== "regression") attachLora(model, config.lora, config.seed);
      const phase = method.start({
        rt,
        config: { ...config, optim: { ...config.optim, warmupSteps: 0 } },
        data,
        model,
      });
      await phase.step(0);
      await phase.step(1);
      const t0 = performance.now();
      for (let i = 2; i < steps + 2; i++) await phase.step(i);
      const ms = (performance.now() - t0) / steps;
      const row = {
        method: id,
        batch: phase.samplesPerStep,
        msPerStep: ms,
        samplesPerSecond: (phase.samplesPerStep * 1000) / ms,
      };
      results.push(row);
      console.log(
        `${id.padEnd(12)} batch ${row.batch}: ${ms.toFixed(1)} ms/step, ${
          row.samplesPerSecond.toFixed(1)
        } samples/s`,
      );
      if (values.profile) {
        rt.startProfile();
        const p0 = performance.now();
        await phase.step(steps + 2);
        const wall = performance.now() - p0;
        const kernels = await rt.stopProfile();
        profiles.push({ method: id, stepMs: wall, kernels });
        const inKernels = kernels.reduce((s, k) => s + k.ms, 0),
          inGaps = kernels.reduce((s, k) => s + k.gapMs, 0);
        console.log(
          `  profiled step: ${wall.toFixed(1)} ms wall (one pass per dispatch), ${
            kernels.reduce((s, k) => s + k.dispatches, 0)
          } dispatches, ${inKernels.toFixed(1)} ms in kernels, ${inGaps.toFixed(1)} ms between them`,
        );
        for (const k of kernels.slice(0, 12)) {
          console.log(
            `  ${k.ms.toFixed(2).padStart(9)} ms + ${k.gapMs.toFixed(2).padStart(8)} ms gap  ×${
              String(k.dispatches).padEnd(4)
            } ${k.key}`,
          );
        }
      }
    }
    // Sampling alone, as GRPO's rollouts do it: K answers for each of B images (one prefix encoding per
    // image, KV-cached decoding), at the GRPO temperature; the answer length of a 0–100 label.
    const sampling = await rt.scope(async () => {
      const model = initVlm(rt, config.model, config.seed);
      const B = config.grpo.batch, K = config.grpo.generations;
      const idx = Array.from({ length: B }, (_, i) => i);
      const sample = async (stream: number) => {
        await rt.scope(async () => {
          const images = imageBatch(rt, data.train.images, idx);
          await generate(model, images, idx.map(() => data.taskToken), {
            samples: K,
            temperature: config.grpo.temperature,
            seed: config.seed,
            stream,
            maxTokens: data.answerTokens,
          });
        });
      };
      await sample(0);
      const t0 = performance.now();
      for (let i = 1; i <= steps; i++) await sample(i);
      const ms = (performance.now() - t0) / steps;
      return {
        batch: B,
        generations: K,
        tokens: data.answerTokens,
        msPerBatch: ms,
        inputsPerSecond: (B * 1000) / ms,
      };
    });
    console.log(
      `sampling     batch ${sampling.batch} × K ${sampling.generations}, ${sampling.tokens} tokens: ${
        sampling.msPerBatch.toFixed(1)
      } ms/batch, ${sampling.inputsPerSecond.toFixed(1)} inputs/s`,
    );
    const sft = results.find((r) => r.method === "sft"),
      grpo = results.find((r) => r.method.includes("grpo"));
    const ratio = sft && grpo ? sft.samplesPerSecond / grpo.samplesPerSecond : null;
    if (ratio !== null) console.log(`GRPO/SFT cost per sample: ${ratio.toFixed(2)}×`);
    // Whole runs on the configs' schedules: steps × measured step time.
    const runSeconds = (row: typeof sft, batch: number, epochs: number) =>
      row ? (stepsFor(trainSize, batch, epochs) * row.msPerStep) / 1000 : null;
    const sftRun = runSeconds(sft, config.sft.batch, config.sft.epochs);
    const grpoRun = runSeconds(grpo, config.grpo.batch, config.grpo.epochs);
    const runRatio = sftRun && grpoRun ? grpoRun / sftRun : null;
    if (runRatio !== null) {
      console.log(
        `per run on ${trainSize} samples: SFT ${sftRun!.toFixed(1)} s (${config.sft.epochs} epochs), GRPO ${
          grpoRun!.toFixed(1)
        } s (${config.grpo.epochs}): ${runRatio.toFixed(2)}×`,
      );
    }
    if (values.out) {
      await writeJsonAtomic(values.out, {
        adapter: {
          description: gpu.info.description,
          fallback: gpu.info.fallback,
          features: gpu.info.features,
        },
        config: source,
        resolved: config,
        results,
        sampling,
        grpoSftCostRatio: ratio,
        ...(values.profile ? { profiles } : {}),
        perRun: { trainSize, sftSeconds: sftRun, grpoSeconds: grpoRun, grpoSftCostRatio: runRatio },
        provenance: await collectProvenance({ seeds: { bench: config.seed } }),
      });
    }
  });
}
