/**
 * End-to-end tests of `deno task compare`: the real CLI in a subprocess, on results produced in-process by
 * `evaluate()` from small prepared datasets.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluate } from "../bench/score/evaluate.ts";
import { TEST_LABELS, TRAIN_HISTOGRAM, writeToyDataset } from "./_testing.ts";
import { assertRefused, exists, listDir, type Run, runScript, withTempDir } from "./_testing.ts";

const COMPARE = fileURLToPath(new URL("./compare.ts", import.meta.url));

/** Writes predictions `label + offset(i)` for every test id and scores them into `out`. */
async function writeResults(
  tmp: string,
  data: string,
  name: string,
  offset: (i: number) => number,
  labels = TEST_LABELS,
): Promise<string> {
  const predictions = join(tmp, `${name}.jsonl`);
  await Deno.writeTextFile(
    predictions,
    labels.map((label, i) => JSON.stringify({ id: `t${i}`, value: label + offset(i) })).join("\n") + "\n",
  );
  const out = join(tmp, `${name}.json`);
  await evaluate({ data, predictions, out, method: name, bootstrap: { resamples: 200 } });
  return out;
}

/** Runs the real compare CLI with `args`. */
function runCompare(args: string[]): Promise<Run> {
  return runScript(COMPARE, args);
}

Deno.test("compare: paired comparison of two results on one test set", async (t) => {
  await withTempDir("dirbench-compare-test-", async (tmp) => {
    const data = join(tmp, "data");
    await writeToyDataset(data);
    // A is off by 4 everywhere; B is off by 1 on many/medium ids (t0..t7) and by 6 on few ids (t8..t11).
    const a = await writeResults(tmp, data, "method-a", () => 4);
    const b = await writeResults(tmp, data, "method-b", (i) => (i < 8 ? -1 : 6));

    await t.step("prints a table with every region", async () => {
      const run = await runCompare([a, b]);
      assert.equal(run.code, 0, run.stderr);
      for (const region of ["all", "many", "medium", "few"]) {
        assert.match(run.stdout, new RegExp(`^${region}\\s`, "m"), `no ${region} row:\n${run.stdout}`);
      }
      assert.ok(run.stdout.includes("method-a"), run.stdout);
      assert.ok(run.stdout.includes("method-b"), run.stdout);
      assert.ok(run.stdout.includes("12 shared test ids"), run.stdout);
      assert.doesNotMatch(run.stdout, /warning/);
    });

    await t.step("--out with --plots writes the comparison JSON and the gain figure", async () => {
      const outDir = join(tmp, "cmp");
      const out = join(outDir, "x.json");
      const run = await runCompare([a, b, "--out", out, "--plots", "--resamples", "300"]);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.stdout.includes(`wrote ${out}`), run.stdout);
      const cmp = JSON.parse(await Deno.readTextFile(out));
      assert.equal(cmp.format, "dirbench.compare/1");
      assert.equal(cmp.dataset.id, "toy-dir");
      assert.equal(cmp.a.method, "method-a");
      assert.equal(cmp.b.method, "method-b");
      assert.equal(cmp.shared, 12);
      assert.equal(cmp.bootstrap.resamples, 300);
      assert.deepEqual(cmp.warnings, []);
      assert.deepEqual(
        ["all", "many", "medium", "few"].map((r) => cmp.regions[r].n),
        [12, 3, 5, 4],
      );
      assert.equal(cmp.regions.many.maeA, 4);
      assert.equal(cmp.regions.many.maeB, 1);
      assert.equal(cmp.regions.many.diff, -3);
      assert.equal(cmp.regions.few.diff, 2);
      assert.ok(Math.abs(cmp.regions.all.diff - (8 * 1 + 4 * 6 - 12 * 4) / 12) < 1e-12);
      // Constant differences: the bootstrap interval collapses onto the difference.
      assert.deepEqual(cmp.regions.many.ci, [-3, -3]);
      const bin30 = cmp.bins.find((bin: { lo: number }) => bin.lo === 30);
      assert.deepEqual(
        { n: bin30.n, gain: bin30.gain, region: bin30.region, trainCount: bin30.trainCount },
        { n: 3, gain: 3, region: "many", trainCount: 150 },
      );

      const svg = await Deno.readTextFile(join(outDir, "x.gain.svg"));
      assert.ok(svg.startsWith("<svg"), svg.slice(0, 40));
      assert.ok(svg.trimEnd().endsWith("</svg>"));
      assert.deepEqual(await listDir(outDir), ["x.gain.svg", "x.json"]);
    });

    await t.step("a result compared with itself has zero difference and p = 1", async () => {
      const out = join(tmp, "self.json");
      const run = await runCompare([a, a, "--out", out]);
      assert.equal(run.code, 0, run.stderr);
      const cmp = JSON.parse(await Deno.readTextFile(out));
      for (const r of ["all", "many", "medium", "few"]) {
        assert.equal(cmp.regions[r].diff, 0);
        assert.equal(cmp.regions[r].p, 1);
      }
    });

    await t.step("different training splits (same test split) compare with a warning", async () => {
      const other = join(tmp, "data-other-train");
      await writeToyDataset(other, TEST_LABELS, [...TRAIN_HISTOGRAM, [90, 2]]);
      const c = await writeResults(tmp, other, "method-c", () => 2);
      const run = await runCompare([a, c]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /warning: the training splits differ/);
    });
  });
});

Deno.test("compare: bad input is refused with a clear message and no output", async (t) => {
  await withTempDir("dirbench-compare-test-", async (tmp) => {
    const data = join(tmp, "data");
    await writeToyDataset(data);
    const a = await writeResults(tmp, data, "method-a", () => 4);
    const b = await writeResults(tmp, data, "method-b", () => -1);
    const outDir = join(tmp, "out");
    await Deno.mkdir(outDir);
    const out = join(outDir, "cmp.json");
    const gain = join(outDir, "cmp.gain.svg");
    const noOutput = async () => {
      assert.equal(await exists(out), false, `${out} was written`);
      assert.equal(await exists(gain), false, `${gain} was written`);
    };

    await t.step("results from a different test set (different sha256)", async () => {
      const other = join(tmp, "data-other-test");
      const labels = [...TEST_LABELS];
      labels[11] = 91;
      await writeToyDataset(other, labels);
      const c = await writeResults(tmp, other, "method-c", () => 4, labels);
      const run = await runCompare([a, c, "--out", out, "--plots"]);
      assertRefused(run, ["different test sets", a, c], 1);
      await noOutput();
    });

    await t.step("a results file with a wrong format", async () => {
      const bad = join(tmp, "wrong-format.json");
      const json = JSON.parse(await Deno.readTextFile(b));
      json.format = "dirbench.results/2";
      await Deno.writeTextFile(bad, JSON.stringify(json));
      const run = await runCompare([a, bad, "--out", out]);
      assertRefused(run, [bad, `"dirbench.results/2"`, `"dirbench.results/1"`], 1);
      await noOutput();
    });

    await t.step("a results file that breaks the schema", async () => {
      const bad = join(tmp, "no-samples.json");
      const json = JSON.parse(await Deno.readTextFile(b));
      delete json.samples;
      await Deno.writeTextFile(bad, JSON.stringify(json));
      const run = await runCompare([bad, a, "--out", out]);
      assertRefused(run, [bad, "not a valid results file", "samples"], 1);
      await noOutput();
    });

    await t.step("a results file that is not JSON", async () => {
      const bad = join(tmp, "truncated.json");
      const text = await Deno.readTextFile(b);
      await Deno.writeTextFile(bad, text.slice(0, text.length / 2));
      const run = await runCompare([a, bad, "--out", out]);
      assertRefused(run, [bad, "malformed JSON"], 1);
      await noOutput();
    });

    await t.step("a results file that does not exist", async () => {
      const missing = join(tmp, "missing.json");
      const run = await runCompare([a, missing, "--out", out]);
      assertRefused(run, [missing, "not found"], 1);
      await noOutput();
    });

    await t.step("one positional argument is a usage error", async () => {
      const run = await runCompare([a, "--out", out]);
      assertRefused(run, ["expected two results files, got 1", "usage:"], 2);
      await noOutput();
    });

    await t.step("three positional arguments are a usage error", async () => {
      const run = await runCompare([a, b, a]);
      assertRefused(run, ["expected two results files, got 3"], 2);
    });

    await t.step("--plots without --out is a usage error", async () => {
      const run = await runCompare([a, b, "--plots"]);
      assertRefused(run, ["--plots", "--out"], 2);
    });

    await t.step("an unknown flag is a usage error", async () => {
      const run = await runCompare([a, b, "--bogus", "--out", out]);
      assertRefused(run, ["--bogus", "usage:"], 2);
      await noOutput();
    });

    await t.step("a bad --level is a usage error and writes nothing", async () => {
      const run = await runCompare([a, b, "--level", "1.5", "--out", out]);
      assertRefused(run, ["--level", `"1.5"`], 2);
      await noOutput();
    });
  });
});
