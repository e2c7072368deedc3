import assert from "node:assert/strict";
import { join } from "node:path";
import { readPreparedDataset } from "./format.ts";
import { prepareDataset } from "./prepare.ts";
import {
  proportionalCounts,
  syntheticDir,
  syntheticSvg,
  syntheticTestCounts,
  syntheticTrainCounts,
} from "./synthetic.ts";

Deno.test("proportionalCounts splits a total exactly, by largest remainder", () => {
  assert.deepEqual(proportionalCounts([1, 1, 1], 10), [4, 3, 3]);
  assert.deepEqual(proportionalCounts([0, 2, 1], 7), [0, 5, 2]);
  assert.equal(proportionalCounts([3, 5, 7, 0, 1], 1234).reduce((a, b) => a + b), 1234);
});

Deno.test("synthetic training histogram follows AgeDB-DIR's shape", () => {
  const counts = syntheticTrainCounts(12_000);
  assert.equal(counts.length, 101);
  assert.equal(counts.reduce((a, b) => a + b), 12_000);
  // AgeDB-DIR peaks at age 35 (353 of 12,208) and has no age 0 or 2.
  assert.equal(counts.indexOf(Math.max(...counts)), 35);
  assert.equal(counts[35], Math.round((353 * 12_000) / (12_208 - 1)));
  assert.equal(counts[0], 0);
  assert.equal(counts[2], 0);
  // Long tail: many-shot bins in the middle, few-shot at the extremes.
  assert.ok(counts[30] > 100 && counts[90] < 20);
});

Deno.test("synthetic test labels are balanced", () => {
  const counts = syntheticTestCounts(2_000, 0);
  assert.equal(counts.reduce((a, b) => a + b), 2_000);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1);
  assert.notDeepEqual(syntheticTestCounts(2_000, 1), counts); // the remainder's labels depend on the seed
});

Deno.test("syntheticSvg draws exactly `count` dots, deterministically", () => {
  for (const count of [0, 1, 37, 100]) {
    const svg = syntheticSvg(count, 3, "x");
    assert.equal(svg.match(/<circle /g)?.length ?? 0, count);
    assert.equal(syntheticSvg(count, 3, "x"), svg);
    assert.ok(!svg.includes(`>${count}<`), "the count must not be written as text");
  }
  assert.notEqual(syntheticSvg(10, 3, "x"), syntheticSvg(10, 4, "x"));
  assert.notEqual(syntheticSvg(10, 3, "x"), syntheticSvg(10, 3, "y"));
});

Deno.test("prepare synthetic-dir is byte-identical for the same seed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dirbench-synthetic-" });
  try {
    const run = (name: string, seed: number) =>
      prepareDataset(syntheticDir, {
        out: join(dir, name),
        quiet: true,
        images: { maxSide: 64 },
        load: { cache: dir, seed, sizes: { train: 40, test: 12 }, log: () => {} },
      });
    await run("a", 5);
    await run("b", 5);
    await run("c", 6);
    const files = (name: string) =>
      [...Deno.readDirSync(join(dir, name, "images"))].map((e) => `images/${e.name}`).sort().concat([
        "manifest.json",
        "train.jsonl",
        "test.jsonl",
        "card.md",
        "train-histogram.svg",
        "test-histogram.svg",
      ]);
    assert.deepEqual(files("a"), files("b"));
    for (const f of files("a")) {
      assert.deepEqual(Deno.readFileSync(join(dir, "a", f)), Deno.readFileSync(join(dir, "b", f)), f);
    }
    const image = files("a").find((f) => f.startsWith("images/train-"))!; // train labels do not depend on the seed
    assert.notDeepEqual(Deno.readFileSync(join(dir, "a", image)), Deno.readFileSync(join(dir, "c", image)));

    const prepared = await readPreparedDataset(join(dir, "a"));
    assert.equal(prepared.train.samples.length, 40);
    assert.equal(prepared.test.samples.length, 12);
    assert.equal(prepared.manifest.id, "synthetic-dir");
    assert.equal(prepared.manifest.seed, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
