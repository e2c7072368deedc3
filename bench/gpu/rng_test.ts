import assert from "node:assert/strict";
import {
  philox4x32,
  sampleCategorical,
  sampleCategoricalReference,
  seedKey,
  uniform,
  uniformValues,
} from "./rng.ts";
import { tensorFrom } from "./tensor.ts";
import { randomValues, smallGridRuntime, testRuntime } from "./testing.ts";

const rt = await testRuntime();

Deno.test("philox4x32 matches the Random123 known-answer vectors", () => {
  assert.deepEqual(philox4x32([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  const f = 0xffffffff;
  assert.deepEqual(philox4x32([f, f, f, f], [f, f]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  assert.deepEqual(
    philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
  assert.deepEqual(seedKey(2 ** 40 + 7), [7, 256]);
  assert.throws(() => seedKey(-1), RangeError);
  assert.throws(() => seedKey(0.5), RangeError);
});

Deno.test("uniform: bit-exact with the CPU Philox, prefix-stable, in [0, 1)", async () => {
  for (
    const [shape, seed, stream] of [[[1], 0, 0], [[5], 42, 3], [[3, 7, 50], 2 ** 40 + 12345, 7]] as const
  ) {
    const t = uniform(rt, shape, seed, stream);
    const got = await t.toArray();
    const want = uniformValues(t.size, seed, stream);
    assert.deepEqual(Array.from(got), Array.from(want), `uniform [${shape}] seed ${seed} stream ${stream}`);
    t.release();
  }
  // A bigger draw starts with the smaller one (so the grid size does not matter), streams differ.
  const small = await uniform(rt, [10], 9, 1).toArray();
  const big = await uniform(rt, [4099], 9, 1).toArray();
  assert.deepEqual(Array.from(small), Array.from(big.subarray(0, 10)));
  const other = await uniform(rt, [10], 9, 2).toArray();
  assert.notDeepEqual(Array.from(small), Array.from(other));
  let mean = 0;
  for (const x of big) {
    assert.ok(x >= 0 && x < 1);
    mean += x / big.length;
  }
  assert.ok(Math.abs(mean - 0.5) < 4 * Math.sqrt(1 / 12 / big.length), `mean ${mean}`);
});

Deno.test("rng kernels do not depend on the dispatch grid (2-D grids)", async () => {
  const small = await smallGridRuntime();
  // 5,000 uniforms = 1,250 blocks = 5 workgroups → a 3×2 grid.
  const a = await uniform(small, [5000], 77, 4).toArray();
  assert.deepEqual(Array.from(a), Array.from(uniformValues(5000, 77, 4)));
  // 8 rows on at most 3 workgroups per dimension → a 3×3 grid.
  const logits = randomValues(8 * 11, 5, -2, 2);
  const s1 = await sampleCategorical(tensorFrom(small, logits, [8, 11]), 0.7, 3, 2).toArray();
  const s2 = await sampleCategorical(tensorFrom(rt, logits, [8, 11]), 0.7, 3, 2).toArray();
  assert.deepEqual(Array.from(s1), Array.from(s2));
});

Deno.test("sampleCategorical follows the float64 inverse CDF of the same uniforms", async () => {
  for (const [rows, v, temperature] of [[300, 37, 1], [64, 200, 0.5], [5, 1, 2], [3, 129, 3]] as const) {
    const logits = randomValues(rows * v, rows + v, -3, 3);
    // Mask a third of the vocabulary the way a model would (a large negative finite logit).
    if (v > 1) { for (let i = 0; i < logits.length; i += 3) logits[i] = -1e30; }
    const got = await sampleCategorical(tensorFrom(rt, logits, [rows, v]), temperature, 11, 6).toArray();
    const want = Array.from(sampleCategoricalReference(logits, rows, v, temperature, 11, 6));
    assert.deepEqual(Array.from(got), want, `[${rows}, ${v}] at temperature ${temperature}`);
    assert.ok(got.every((k, i) => logits[i * v + k] > -1e30), "a masked token was sampled");
  }
});

Deno.test("sampleCategorical: frequencies, temperature scaling, argmax, determinism", async () => {
  const rows = 20_000;
  const row = [0.5, -1, 1.5, 0, -0.25];
  const logits = tensorFrom(rt, Array.from({ length: rows }, () => row).flat(), [rows, row.length]);
  const check = async (temperature: number, step: number) => {
    const samples = await sampleCategorical(logits, temperature, 2024, step).toArray();
    const counts = new Array(row.length).fill(0);
    for (const s of samples) counts[s]++;
    const e = row.map((x) => Math.exp(x / temperature));
    const z = e.reduce((a, b) => a + b, 0);
    counts.forEach((c, k) => {
      const p = e[k] / z, sigma = Math.sqrt(p * (1 - p) / rows);
      assert.ok(
        Math.abs(c / rows - p) < 4 * sigma,
        `T=${temperature} class ${k}: ${c / rows} vs ${p.toFixed(4)} ± ${sigma.toFixed(4)}`,
      );
    });
    return samples;
  };
  const a = await check(1, 0);
  await check(2, 1);
  await check(0.5, 2);
  // Same (seed, step) → same samples; another step → different ones.
  assert.deepEqual(Array.from(await sampleCategorical(logits, 1, 2024, 0).toArray()), Array.from(a));
  assert.notDeepEqual(Array.from(await sampleCategorical(logits, 1, 2024, 1).toArray()), Array.from(a));
  // Temperature 0: the argmax, and the first one on ties.
  const greedy = await sampleCategorical(logits, 0, 1, 0).toArray();
  assert.ok(greedy.every((s) => s === 2));
  const ties = tensorFrom(rt, [1, 3, 3, 0, 2, 2, 2, 2, -5, -5, -5, -5], [3, 4]);
  assert.deepEqual(Array.from(await sampleCategorical(ties, 0, 1, 0).toArray()), [1, 0, 0]);
  logits.release();
});

Deno.test("sampleCategorical rejects bad arguments", () => {
  const t = tensorFrom(rt, [0, 1, 2, 3], [2, 2]);
  assert.throws(() => sampleCategorical(t, -1, 0, 0), RangeError);
  assert.throws(() => sampleCategorical(t, NaN, 0, 0), RangeError);
  assert.throws(() => sampleCategorical(t, 1e-50, 0, 0), RangeError);
  assert.throws(() => sampleCategorical(t, 1, 0, -1), RangeError);
  assert.throws(() => sampleCategorical(tensorFrom(rt, [0, 1], [2]), 1, 0, 0), RangeError);
});
