import assert from "node:assert/strict";
import { join } from "node:path";
import { prepareDataset } from "../datasets/prepare.ts";
import { syntheticDir } from "../datasets/synthetic.ts";
import { loadConfig } from "./configs/config.ts";
import { TINY_MODEL } from "./methods/_testing.ts";
import { readResults } from "./score/results.ts";
import { StoppedEarly, train } from "./train.ts";

/** A model and schedule small enough for a few seconds per method on the software adapter. */
const TINY = [
  ...TINY_MODEL,
  "pretrain.samples=64",
  "pretrain.epochs=1",
  "pretrain.batch=16",
  "sft.epochs=2",
  "sft.batch=8",
  "grpo.batch=4",
  "grpo.generations=2",
  "regression.epochs=2",
  "regression.batch=8",
  "eval.batch=64",
  "optim.warmupSteps=1",
  "checkpoint.every=2",
];

async function withDataset(fn: (data: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dirbench-train-" });
  try {
    const data = join(dir, "data");
    await prepareDataset(syntheticDir, {
      out: data,
      quiet: true,
      images: { maxSide: 32 },
      load: { cache: dir, seed: 1, sizes: { train: 24, test: 10 }, log: () => {} },
    });
    await fn(data, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(
  data: string,
  dir: string,
  method: string,
  out: string,
  extra: string[] = [],
  options = {},
) {
  return await train({
    data,
    method,
    config: await loadConfig("quick", [...TINY, ...extra]),
    configSource: "quick",
    out: join(dir, out),
    quiet: true,
    cache: join(dir, "cache"),
    ...options,
  });
}

Deno.test("train: every method family trains, predicts and scores end to end on the software adapter", async () => {
  await withDataset(async (data, dir) => {
    for (
      const method of [
        "zeroshot",
        "sft-soft",
        "grpo-ccc",
        "dr-grpo-disco",
        "reg-grpo-mae",
        "reg-lds-fds",
        "reg-ranksim",
        "reg-bmse",
      ]
    ) {
      // Two updates per generation batch exercise the importance ratio (and Reg-GRPO's non-zero log-ratios).
      const out = await run(
        data,
        dir,
        method,
        method,
        method === "reg-grpo-mae" ? ["grpo.iterations=2"] : [],
      );
      const results = await readResults(join(dir, method, "results.json"));
      assert.equal(results.method.name, method);
      assert.equal(results.samples.length, 10);
      assert.ok(results.provenance.adapter?.description, "the adapter is recorded");
      assert.equal((results.method.config.resolved as { model: { dim: number } }).model.dim, 16);
      assert.equal(results.method.config.backbone, "dirbench-vlm-quick");
      assert.ok(Number.isFinite(out.results.metrics.all.mae!));
      const log = (await Deno.readTextFile(join(dir, method, "log.jsonl"))).trim().split("\n").filter(Boolean)
        .map((l) => JSON.parse(l));
      if (method === "zeroshot") {
        assert.equal(log.length, 0);
        continue;
      }
      assert.ok(log.length > 0 && log.every((r) => Number.isFinite(r.loss) && r.lr > 0), method);
      if (method.includes("grpo")) {
        for (const key of ["reward_mean", "reward_std", "kl", "frac_reward_zero_std", "samples_per_s"]) {
          assert.ok(Number.isFinite(log[0][key]), `${method} logs ${key}`);
        }
      }
    }
    // The backbone was pretrained once and then reused from the cache.
    const backbones = [...Deno.readDirSync(join(dir, "cache", "backbones"))];
    assert.equal(backbones.length, 1);
  });
});

Deno.test("train: a run stopped after a checkpoint and resumed ends bit-identical to an uninterrupted one", async () => {
  await withDataset(async (data, dir) => {
    for (const method of ["sft", "grpo-mae"]) {
      await run(data, dir, method, `${method}-straight`);
      await assert.rejects(
        () => run(data, dir, method, `${method}-resumed`, [], { stopAfter: 2 }),
        StoppedEarly,
      );
      await run(data, dir, method, `${method}-resumed`, [], { resume: true });
      for (const file of ["predictions.jsonl", "log.jsonl"]) {
        const a = await Deno.readTextFile(join(dir, `${method}-straight`, file));
        const b = await Deno.readTextFile(join(dir, `${method}-resumed`, file));
        // Throughput differs between runs; everything else must match.
        const strip = (s: string) => s.replace(/"samples_per_s":[^,}]*/g, "");
        assert.equal(strip(b), strip(a), `${method} ${file}`);
      }
      const weights = (name: string) =>
        Deno.readFileSync(join(dir, name, "checkpoints", "ckpt-6", "tensors.bin"));
      assert.deepEqual(weights(`${method}-resumed`), weights(`${method}-straight`));
    }
  });
});

Deno.test("train: refuses a non-empty run directory without --resume, and a different config with it", async () => {
  await withDataset(async (data, dir) => {
    await run(data, dir, "sft", "a", ["sft.epochs=1"]);
    await assert.rejects(() => run(data, dir, "sft", "a", ["sft.epochs=1"]), /not empty/);
    await assert.rejects(
      () => run(data, dir, "sft", "a", ["sft.epochs=2"], { resume: true }),
      /another method or config/,
    );
  });
});

Deno.test("train: GRPO starts from the sft method's weights (grpo.init=sft, LoRA merged) or from the backbone", async () => {
  await withDataset(async (data, dir) => {
    const predictions = (name: string) => Deno.readTextFileSync(join(dir, name, "predictions.jsonl"));
    const starts = () => [...Deno.readDirSync(join(dir, "cache", "sft-starts"))].map((e) => e.name);
    // With a zero learning rate GRPO's update leaves its starting weights, so it answers as they do.
    // Full fine-tune: GRPO trains the SFT start into the cache itself, and `sft` run afterwards agrees.
    const full = await run(data, dir, "grpo-mae", "grpo-full", ["grpo.lr=0"]);
    assert.deepEqual(starts(), [full.results.method.config.sftStartKey]);
    await run(data, dir, "sft", "sft-full");
    assert.equal(predictions("grpo-full"), predictions("sft-full"));
    // LoRA: an `sft` run stores its weights as the start; GRPO loads them and folds the adapters in.
    await run(data, dir, "sft", "sft-lora", ["lora.enabled=true"]);
    assert.equal(starts().length, 2);
    const lora = await run(data, dir, "grpo-mae", "grpo-lora", ["lora.enabled=true", "grpo.lr=0"]);
    const stored = JSON.parse(
      Deno.readTextFileSync(
        join(dir, "cache", "sft-starts", lora.results.method.config.sftStartKey as string, "start.json"),
      ),
    );
    assert.equal(stored.from, join(dir, "sft-lora"));
    assert.equal(predictions("grpo-lora"), predictions("sft-lora"));
    // init=backbone: GRPO answers as the backbone does…
    await run(data, dir, "zeroshot", "zeroshot");
    await run(data, dir, "grpo-mae", "grpo-backbone", ["grpo.init=backbone", "grpo.lr=0"]);
    assert.equal(predictions("grpo-backbone"), predictions("zeroshot"));
    // …and the two starts answer differently, so the equalities above tell them apart.
    assert.notEqual(predictions("sft-full"), predictions("zeroshot"));
    assert.equal(starts().length, 2);
  });
});
