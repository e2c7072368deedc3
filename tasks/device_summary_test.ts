import assert from "node:assert/strict";
import { join } from "node:path";
import { deviceSummary } from "./device_summary.ts";

Deno.test("device_summary: reads the benchmark files device_check.sh writes and names each target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dirbench-device-" });
  try {
    // Committed outputs of the same commands stand in for a device run.
    await Deno.copyFile("results/bench/h200-2026-11-26.json", join(dir, "kernels.json"));
    await Deno.copyFile("results/bench/train-paper-llvmpipe-2026-11-26.json", join(dir, "train-paper.json"));
    const lines = deviceSummary(dir).join("\n");
    assert.match(lines, /adapter: NVIDIA H200/);
    assert.match(lines, /GEMM 4096³ f32 +33\.1 TFLOP\/s {2}target ≥ 40/);
    // The committed H200 run: its slowest model shape is 4096×512×32 (3.0 TFLOP/s), its peak 8192³.
    assert.match(
      lines,
      /model-shape GEMMs f32, slowest \(4096×512×32\) +3\.0 TFLOP\/s {2}11\.3× below the peak 33\.6/,
    );
    assert.match(lines, /paper preset sft \(LoRA, batch 16\) +[\d.]+\/s/);
    assert.match(lines, /sampling K=4, batch 16 .*× PyTorch eager \(target ≥ 1\.5×\)/);
    const paper = JSON.parse(await Deno.readTextFile(join(dir, "train-paper.json")));
    assert.ok(lines.includes(`${paper.perRun.grpoSftCostRatio.toFixed(2)}×  target ≤ 3×`));
    // The sweep: the fastest correct candidate per dtype; f16 partial sums apart; wrong results named.
    const sweepRow = (config: string, dtype: string, gflops: number, relError: number, halfSums = false) => ({
      name: `gemm[${config}] 4096×4096×4096`,
      dtype,
      shape: [4096, 4096, 4096],
      ms: 1,
      gflops,
      config,
      tile: { halfSums },
      relError,
    });
    await Deno.writeTextFile(
      join(dir, "gemmsweep.json"),
      JSON.stringify({
        results: [
          sweepRow("a", "f32", 30000, 1e-7),
          sweepRow("fast-but-wrong", "f32", 90000, 0.5),
          sweepRow("b", "f32", 35000, 1e-7),
          sweepRow("c", "f16", 31000, 1e-7),
          sweepRow("hs", "f16", 60000, 8e-4, true),
        ],
      }),
    );
    const swept = deviceSummary(dir).join("\n");
    assert.match(swept, /sweep best f32 \(b\) +35\.0 TFLOP\/s {2}target ≥ 40/);
    assert.match(swept, /sweep best f16, f32 accumulation \(c\) +31\.0 TFLOP\/s {2}target ≥ 52/);
    assert.match(swept, /sweep best f16, f16 partial sums \(hs\) +60\.0 TFLOP\/s/);
    assert.match(swept, /WRONG RESULTS: fast-but-wrong f32/);
    // Kernel times (timestamps): the slowest model shape by them, and the best sweep tile by them, which
    // may differ from the best by wall time.
    const kernels = JSON.parse(await Deno.readTextFile(join(dir, "kernels.json")));
    for (const r of kernels.results) {
      if (r.name.startsWith("model gemm ")) {
        r.kernelMs = r.ms / 2;
        r.kernelGflops = r.gflops * 2;
      }
    }
    await Deno.writeTextFile(join(dir, "kernels.json"), JSON.stringify(kernels));
    const modelRow = (config: string, ms: number, kernelMs: number) => ({
      name: `model gemm[${config}] 1152×256×256`,
      dtype: "f32",
      shape: [1152, 256, 256],
      ms,
      gflops: 151 / ms,
      config,
      kernelMs,
    });
    await Deno.writeTextFile(
      join(dir, "modelsweep.json"),
      JSON.stringify({ results: [modelRow("wall", 0.03, 0.02), modelRow("kernel", 0.04, 0.008)] }),
    );
    // cuBLAS at the same shapes: its 4096³ rate, and each model shape's kernel time against it.
    kernels.overheads.kernelFloorUs = 4.25;
    await Deno.writeTextFile(join(dir, "kernels.json"), JSON.stringify(kernels));
    const shape = kernels.results.find((r: { name: string }) => r.name.startsWith("model gemm "));
    await Deno.writeTextFile(
      join(dir, "cublas.json"),
      JSON.stringify({
        results: [
          {
            name: "gemm 4096×4096×4096",
            dtype: "f32",
            shape: [4096, 4096, 4096],
            ms: 2.8,
            gflops: 49000,
            kernelMs: 2.7,
            kernelGflops: 50900,
          },
          { ...shape, kernelMs: shape.kernelMs / 4 },
        ],
      }),
    );
    const timed = deviceSummary(dir).join("\n");
    assert.match(timed, /kernel timer floor \(an empty dispatch\) +4\.3 µs/);
    assert.match(timed, /cuBLAS 4096³ f32 \(same card\) +50\.9 TFLOP\/s/);
    assert.ok(timed.includes(`${shape.name.slice("model gemm ".length)} f32 by kernel time`));
    assert.match(timed, /cuBLAS [\d.]+ µs: 4\.00× its time/);
    assert.match(timed, /by kernel time, slowest \(4096×512×32\) +6\.0 TFLOP\/s {2}5\.7× below the peak/);
    assert.match(timed, /modelsweep 1152×256×256: best wall +30 µs/);
    assert.match(timed, /by kernel time: kernel +8\.0 µs/);
    // The full-fine-tune files are absent: reported, not fatal.
    assert.doesNotMatch(lines, /full fine-tune/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
