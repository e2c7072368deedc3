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
import { loadConfig, type TrainConfig } from "../bench/configs/config.ts";
import { writeJsonAtomic } from "../bench/core/fs.ts";
import { collectProvenance } from "../bench/core/provenance.ts";
import { openGpu } from "../bench/gpu/device.ts";
import { sync } from "../bench/gpu/measure.ts";
import { type KernelProfile, Runtime, runtimeFor } from "../bench/gpu/runtime.ts";
import { generatedTask, SAMPLE_READ_EVERY, sampleBatches, stepsFor } from "../bench/methods/lm.ts";
import { resolveLogs, type StepLog } from "../bench/methods/step_log.ts";
import { LOG_READ_EVERY } from "../bench/train.ts";
import { methodById } from "../bench/methods/registry.ts";
import type { TaskData } from "../bench/methods/method.ts";
import { attachLora, initVlm } from "../bench/model/vlm.ts";
import { intFlag, runTask } from "./_cli.ts";

const USAGE =
  `usage: deno task bench:train [--config quick|paper|<file.yaml>] [--set key=value ...] [--steps N]
                             [--methods sft,grpo-ccc] [--train-size N] [--profile] [--as-gpu] [--no-sampling]
                             [--sync-steps] [--out results.json]

  --steps <n>       timed steps per method after 2 warm-up steps (default 5)
  --train-size <n>  training-set size for the per-run cost (default 1000)
  --profile         time each kernel of one more step per method (timestamp queries) and print the
                    most expensive; with --out, the whole table goes into the JSON
  --methods <l>     comma-separated method ids (default sft,grpo-ccc)
  --no-sampling     skip the sampling benchmark
  --as-gpu          on the software adapter, run the kernels a GPU runs (not the texture kernels), to
                    count a GPU's dispatches per step here; slow, and its timings mean nothing
  --sync-steps      wait for the GPU before each timed step, so that the host time per step is the host's
                    own (on the software adapter the kernels otherwise share its CPU); the step time then
                    includes a readback per step. With --as-gpu: the host cost of a GPU's step, measured here`;

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
        "as-gpu": { type: "boolean" },
        "no-sampling": { type: "boolean" },
        "sync-steps": { type: "boolean" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) return console.log(USAGE);
    const source = values.config ?? "quick";
    const config = await loadConfig(source, values.set ?? []);
    const steps = intFlag(values.steps, "steps", 5, 1);
    const trainSize = intFlag(values["train-size"], "train-size", 1000, 1);
    const methods = (values.methods ?? "sft,grpo-ccc").split(",");
    const gpu = await openGpu();
    const rt = values["as-gpu"]
      ? new Runtime({ ...gpu, info: { ...gpu.info, fallback: false } })
      : runtimeFor(gpu);
    console.log(
      `adapter: ${gpu.info.description}${gpu.info.fallback ? " (software)" : ""}${
        values["as-gpu"] ? ", running the GPU kernels" : ""
      }; config ${source}`,
    );
    // Generated samples for the warm-up and timed steps of the largest batch (at most 32 batches; longer
    // runs go round them in new orders, as epochs do).
    const batch = Math.max(config.sft.batch, config.grpo.batch, config.regression.batch);
    const n = batch * Math.min(steps + 3, 32);
    const data = generatedTask(n, config.model.image, config.seed);
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
      // As the run loop does it: logs read back every LOG_READ_EVERY steps and at the end (which waits for
      // the GPU to finish the timed steps).
      let hostMs = 0;
      const runSteps = async (from: number, to: number) => {
        let logs: StepLog[] = [];
        for (let i = from; i < to; i++) {
          if (values["sync-steps"]) await sync(rt);
          const h0 = performance.now();
          logs.push(await phase.step(i));
          hostMs += performance.now() - h0;
          if (logs.length >= LOG_READ_EVERY) {
            await resolveLogs(logs);
            logs = [];
          }
        }
        await resolveLogs(logs);
      };
      await runSteps(0, 2);
      hostMs = 0;
      const before = { ...rt.stats };
      const t0 = performance.now();
      await runSteps(2, steps + 2);
      const ms = (performance.now() - t0) / steps;
      const perStep = (key: keyof typeof before) => (rt.stats[key] - before[key]) / steps;
      const row = {
        method: id,
        batch: phase.samplesPerStep,
        msPerStep: ms,
        samplesPerSecond: (phase.samplesPerStep * 1000) / ms,
        // Host time inside the step calls (recording, uploads, CPU work): near msPerStep means host-bound.
        hostMsPerStep: hostMs / steps,
        perStep: {
          dispatches: perStep("dispatches"),
          bindGroupsCreated: perStep("bindGroups"),
          submits: perStep("submits"),
          readbacks: perStep("readbacks"),
        },
      };
      results.push(row);
      console.log(
        `${id.padEnd(12)} batch ${row.batch}: ${ms.toFixed(1)} ms/step, ${
          row.samplesPerSecond.toFixed(1)
        } samples/s (host ${
          row.hostMsPerStep.toFixed(1)
        } ms/step); per step ${row.perStep.dispatches} dispatches (${
          row.perStep.bindGroupsCreated.toFixed(1)
        } new bind groups), ${row.perStep.submits.toFixed(1)} submits, ${
          row.perStep.readbacks.toFixed(2)
        } readbacks`,
      );
      if (values.profile) {
        rt.startProfile();
        const p0 = performance.now();
        // Its log read back, so the wall time covers the GPU work (and one readback wait).
        await resolveLogs([await phase.step(steps + 2)]);
        const wall = performance.now() - p0;
        const kernels = await rt.stopProfile();
        profiles.push({ method: id, stepMs: wall, kernels });
        const inKernels = kernels.reduce((s, k) => s + k.ms, 0),
          inGaps = kernels.reduce((s, k) => s + k.gapMs, 0);
        console.log(
          `  profiled step: ${wall.toFixed(1)} ms wall (one pass per dispatch, and its log readback), ${
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
    const sampling = values["no-sampling"] ? null : await benchSampling(rt, config, data, n, steps);
    if (sampling) {
      console.log(
        `sampling     batch ${sampling.batch} × K ${sampling.generations}, ${sampling.tokens} tokens: ${
          sampling.msPerBatch.toFixed(1)
        } ms/batch, ${
          sampling.inputsPerSecond.toFixed(1)
        } inputs/s (tokens read every ${SAMPLE_READ_EVERY} batches); ${
          sampling.synced.msPerBatch.toFixed(1)
        } ms for one batch read at once (${
          sampling.synced.inputsPerSecond.toFixed(1)
        } inputs/s); ${sampling.dispatchesPerBatch} dispatches per batch`,
      );
    }
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
        asGpu: !!values["as-gpu"],
        resolved: config,
        results,
        sampling,
        grpoSftCostRatio: ratio,
        ...(values.profile ? { profiles } : {}),
        perRun: { trainSize, sftSeconds: sftRun, grpoSeconds: grpoRun, grpoSftCostRatio: runRatio },
        provenance: await collectProvenance({ seeds: { bench: config.seed }, adapter: gpu.info }),
      });
    }
  });
}

/**
 * Sampling alone: K answers for each of B images (one prefix encoding per image, KV-cached decoding), at
 * the GRPO temperature, for the answer length of a 0–100 label. Throughput as evaluation runs it (batches
 * queued, tokens read every SAMPLE_READ_EVERY batches), and the latency of one batch read at once, as a
 * GRPO step needs it.
 */
async function benchSampling(rt: Runtime, config: TrainConfig, data: TaskData, n: number, steps: number) {
  return await rt.scope(async () => {
    const model = initVlm(rt, config.model, config.seed);
    const B = config.grpo.batch, K = config.grpo.generations;
    const options = {
      samples: K,
      temperature: config.grpo.temperature,
      seed: config.seed,
      maxTokens: data.answerTokens,
    };
    const batches = (count: number) =>
      Array.from({ length: count }, (_, j) => Array.from({ length: B }, (_, i) => (j * B + i) % n));
    await sampleBatches(rt, model, data.train.images, batches(1), data.taskToken, {
      ...options,
      stream: () => 0,
    });
    const queued = Math.max(steps, SAMPLE_READ_EVERY);
    const dispatches = rt.stats.dispatches;
    let t0 = performance.now();
    await sampleBatches(rt, model, data.train.images, batches(queued), data.taskToken, {
      ...options,
      stream: (j) => j + 1,
    });
    const ms = (performance.now() - t0) / queued;
    const dispatchesPerBatch = (rt.stats.dispatches - dispatches) / queued;
    t0 = performance.now();
    for (let i = 1; i <= steps; i++) {
      await sampleBatches(rt, model, data.train.images, batches(1), data.taskToken, {
        ...options,
        stream: () => i,
      });
    }
    const syncedMs = (performance.now() - t0) / steps;
    return {
      batch: B,
      generations: K,
      tokens: data.answerTokens,
      batchesPerRead: SAMPLE_READ_EVERY,
      msPerBatch: ms,
      inputsPerSecond: (B * 1000) / ms,
      dispatchesPerBatch,
      synced: { msPerBatch: syncedMs, inputsPerSecond: (B * 1000) / syncedMs },
    };
  });
}
