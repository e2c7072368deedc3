/**
 * End-to-end tests of `deno task eval`: the real CLI in a subprocess, against a small prepared dataset.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resultsProblems } from "../bench/score/results.ts";
import { TEST_LABELS, writeToyDataset } from "./_testing.ts";
import { assertRefused, exists, listDir, type Run, runScript, withTempDir } from "./_testing.ts";

const EVAL = fileURLToPath(new URL("./eval.ts", import.meta.url));

/** One predictions line per object, with a trailing newline. */
function jsonl(lines: readonly unknown[]): string {
  return lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
}

/** Valid predictions for t0..t(n-1): even ids as model text, odd ids as numbers. */
function goodLines(n = TEST_LABELS.length): unknown[] {
  return TEST_LABELS.slice(0, n).map((label, i) =>
    i % 2 === 0
      ? { id: `t${i}`, output: `I think <answer>${label + 2}</answer>` }
      : { id: `t${i}`, value: label - 1.5 }
  );
}

/** Runs the real eval CLI with `args`. */
function runEval(args: string[]): Promise<Run> {
  return runScript(EVAL, args);
}

/** Runs the real eval CLI with `--data data --predictions predictions --out out`, then `flags`. */
function runEvalOn(data: string, predictions: string, out: string, ...flags: string[]): Promise<Run> {
  return runEval(["--data", data, "--predictions", predictions, "--out", out, ...flags]);
}

/** Paths of the toy dataset and of a file of valid predictions for it, in a fresh temporary directory. */
interface GoodRun {
  /** The temporary directory, holding only `data/` and `good.jsonl` when the test starts. */
  tmp: string;
  /** The toy dataset. */
  data: string;
  /** Valid predictions for every test id. */
  good: string;
}

/**
 * Runs `fn` in a fresh temporary directory holding the toy dataset (`data/`) and valid predictions
 * (`good.jsonl`), removed afterwards.
 */
function withGoodPredictions(fn: (paths: GoodRun) => Promise<void>): Promise<void> {
  return withTempDir("dirbench-eval-test-", async (tmp) => {
    const data = join(tmp, "data");
    await writeToyDataset(data);
    const good = join(tmp, "good.jsonl");
    await Deno.writeTextFile(good, jsonl(goodLines()));
    await fn({ tmp, data, good });
  });
}

Deno.test("eval: valid predictions give a schema-valid results file and figures", async (t) => {
  await withTempDir("dirbench-eval-test-", async (tmp) => {
    const data = join(tmp, "data");
    const manifest = await writeToyDataset(data);
    const predictions = join(tmp, "predictions.toy-model.jsonl");
    await Deno.writeTextFile(predictions, jsonl(goodLines()));

    await t.step("a strict run with --plots", async () => {
      const outDir = join(tmp, "out");
      const out = join(outDir, "toy.json");
      const run = await runEvalOn(data, predictions, out, "--plots");
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /^\s+at /m);
      for (const region of ["all", "many", "medium", "few"]) {
        assert.match(run.stdout, new RegExp(`^${region}\\s`, "m"));
      }
      assert.ok(run.stdout.includes(`wrote ${out}`), run.stdout);

      const results = JSON.parse(await Deno.readTextFile(out));
      assert.equal(results.format, "dirbench.results/1");
      assert.deepEqual(resultsProblems(results), []);
      assert.equal(results.dataset.id, "toy-dir");
      assert.equal(results.dataset.testSha256, manifest.splits.test.sha256);
      assert.equal(results.dataset.trainSha256, manifest.splits.train.sha256);
      assert.equal(results.dataset.testCount, TEST_LABELS.length);
      assert.equal(results.metrics.all.n, TEST_LABELS.length);
      assert.equal(results.metrics.many.n, 3);
      assert.equal(results.metrics.medium.n, 5);
      assert.equal(results.metrics.few.n, 4);
      assert.equal(results.metrics.invalid, 0);
      assert.equal(results.method.name, "toy-model");
      assert.deepEqual(results.samples.map((s: { id: string }) => s.id), TEST_LABELS.map((_, i) => `t${i}`));
      // Even ids: |label + 2 - label| = 2; odd ids: 1.5.
      assert.ok(Math.abs(results.metrics.all.mae - 1.75) < 1e-12, String(results.metrics.all.mae));

      assert.equal(typeof results.provenance.deno, "string");
      assert.equal(results.provenance.deno, Deno.version.deno);
      assert.ok("git" in results.provenance, "provenance.git is missing");
      const git = results.provenance.git;
      assert.ok(git.commit === null || /^[0-9a-f]{40}$/.test(git.commit), JSON.stringify(git));
      assert.ok(git.dirty === null || typeof git.dirty === "boolean", JSON.stringify(git));
      assert.equal(results.policy.parse, "strict");

      for (const svg of ["toy.abs-error.svg", "toy.bin-mae.svg"]) {
        const text = await Deno.readTextFile(join(outDir, svg));
        assert.ok(text.startsWith("<svg"), `${svg} starts with ${JSON.stringify(text.slice(0, 40))}`);
        assert.ok(text.trimEnd().endsWith("</svg>"), `${svg} is not a complete SVG document`);
      }
      // Atomic writes leave no temporary files.
      assert.deepEqual(await listDir(outDir), ["toy.abs-error.svg", "toy.bin-mae.svg", "toy.json"]);
    });

    await t.step("--parse lenient is recorded and rescues untagged numbers", async () => {
      const text = join(tmp, "about.jsonl");
      const lines = goodLines();
      lines[4] = { id: "t4", output: "about 40" }; // label 35: untagged, so invalid under strict
      await Deno.writeTextFile(text, jsonl(lines));

      const strictOut = join(tmp, "strict.json");
      const strict = await runEvalOn(data, text, strictOut);
      assert.equal(strict.code, 0, strict.stderr);
      const s = JSON.parse(await Deno.readTextFile(strictOut));
      assert.equal(s.policy.parse, "strict");
      assert.equal(s.metrics.invalid, 1);
      assert.equal(s.samples[4].status, "invalid");
      // Scored as the training median (150 of the 298 training labels are 30).
      assert.equal(s.policy.invalid.value, 30);
      assert.equal(s.samples[4].value, 30);
      assert.equal(s.samples[4].absError, 5);

      const lenientOut = join(tmp, "lenient.json");
      const lenient = await runEvalOn(data, text, lenientOut, "--parse", "lenient");
      assert.equal(lenient.code, 0, lenient.stderr);
      const l = JSON.parse(await Deno.readTextFile(lenientOut));
      assert.deepEqual(resultsProblems(l), []);
      assert.equal(l.policy.parse, "lenient");
      assert.equal(l.metrics.invalid, 0);
      assert.equal(l.metrics.fallback, 1);
      assert.equal(l.samples[4].status, "fallback");
      assert.equal(l.samples[4].value, 40);
      assert.equal(l.samples[4].absError, 5);
      assert.ok(lenient.stdout.includes("lenient fallback 1"), lenient.stdout);
    });

    await t.step("an unknown --parse policy is a usage error", async () => {
      const out = join(tmp, "never.json");
      const run = await runEvalOn(data, predictions, out, "--parse", "loose");
      assertRefused(run, ["--parse", "loose"], 2);
      assert.equal(await exists(out), false);
    });
  });
});

Deno.test("eval: bad input is refused with file and line, exit non-zero, and no results file", async (t) => {
  await withTempDir("dirbench-eval-test-", async (tmp) => {
    const data = join(tmp, "data");
    await writeToyDataset(data);
    const outDir = join(tmp, "out");
    await Deno.mkdir(outDir);
    let n = 0;

    /** Writes `text` as a predictions file, runs eval with --plots, and checks the refusal. */
    const refuses = async (
      text: string | null,
      parts: (file: string) => string[],
      options: { data?: string; extraArgs?: string[] } = {},
    ) => {
      const file = join(tmp, `pred-${++n}.jsonl`);
      if (text !== null) await Deno.writeTextFile(file, text);
      const out = join(outDir, `r${n}.json`);
      const run = await runEvalOn(options.data ?? data, file, out, "--plots", ...(options.extraArgs ?? []));
      assertRefused(run, parts(file), 1);
      assert.ok(run.stderr.startsWith("eval: "), run.stderr);
      assert.equal(await exists(out), false, `${out} was written`);
      assert.deepEqual(await listDir(outDir), [], "something was written beside --out");
      return run;
    };

    await t.step("malformed JSON line", async () => {
      const lines = goodLines();
      lines[2] = `{"id": "t2", "output": "<answer>3</answer>"`; // missing closing brace
      await refuses(jsonl(lines), (f) => [`${f}:3:`, "malformed JSON"]);
    });

    await t.step("a line that is not a JSON object", async () => {
      const lines = goodLines();
      lines[1] = `[1, 2]`;
      await refuses(jsonl(lines), (f) => [`${f}:2:`, "expected a JSON object"]);
    });

    await t.step("a line missing id", async () => {
      const lines = goodLines();
      lines[5] = { output: "<answer>40</answer>" };
      await refuses(jsonl(lines), (f) => [`${f}:6:`, `"id"`]);
    });

    await t.step("a numeric id", async () => {
      const lines = goodLines();
      lines[5] = { id: 5, value: 40 };
      await refuses(jsonl(lines), (f) => [`${f}:6:`, `"id" must be a non-empty string`]);
    });

    await t.step("duplicate id", async () => {
      const lines = [...goodLines(), { id: "t3", value: 1 }];
      await refuses(jsonl(lines), (f) => [`${f}:13:`, `duplicate id "t3"`, "first on line 4"]);
    });

    await t.step("duplicate id counts blank lines in the line number", async () => {
      const text = jsonl(goodLines()) + "\n\n" + jsonl([{ id: "t0", value: 1 }]);
      await refuses(text, (f) => [`${f}:15:`, `duplicate id "t0"`, "first on line 1"]);
    });

    await t.step("an id not in the test set", async () => {
      const lines = goodLines();
      lines.splice(7, 0, { id: "t99", value: 40 });
      await refuses(jsonl(lines), (f) => [`${f}:8:`, `"t99"`, "not in the test set"]);
    });

    await t.step("several test ids with no prediction: lists them and the count", async () => {
      const run = await refuses(
        jsonl(goodLines(9)),
        (f) => [f, "3 of 12", `"t9"`, `"t10"`, `"t11"`, "no prediction"],
      );
      assert.doesNotMatch(run.stderr, /more\)/);
    });

    await t.step(
      "many test ids with no prediction: lists the first few and the rest as a count",
      async () => {
        const run = await refuses(
          jsonl([{ id: "t0", value: 30 }]),
          (f) => [f, "11 of 12", `"t1"`, `"t5"`, "6 more"],
        );
        assert.ok(!run.stderr.includes(`"t6"`), run.stderr);
      },
    );

    await t.step("an empty predictions file", async () => {
      await refuses("", (f) => [f, "12 of 12"]);
    });

    await t.step("a non-finite value (1e999 parses as Infinity)", async () => {
      const lines = goodLines();
      lines[0] = `{"id":"t0","value":1e999}`;
      await refuses(jsonl(lines), (f) => [`${f}:1:`, "finite", `"t0"`]);
    });

    await t.step("a value that is not a number", async () => {
      const lines = goodLines();
      lines[1] = { id: "t1", value: "34" };
      await refuses(jsonl(lines), (f) => [`${f}:2:`, `"value" must be a number`]);
    });

    await t.step("an output that is not a string", async () => {
      const lines = goodLines();
      lines[0] = { id: "t0", output: 30 };
      await refuses(jsonl(lines), (f) => [`${f}:1:`, `"output" must be a string`]);
    });

    await t.step("both output and value on one line", async () => {
      const lines = goodLines();
      lines[3] = { id: "t3", output: "<answer>35</answer>", value: 35 };
      await refuses(jsonl(lines), (f) => [`${f}:4:`, "not both"]);
    });

    await t.step("neither output nor value", async () => {
      const lines = goodLines();
      lines[3] = { id: "t3" };
      await refuses(jsonl(lines), (f) => [`${f}:4:`, `"output"`, `"value"`]);
    });

    await t.step("a predictions file that does not exist", async () => {
      await refuses(null, (f) => [f, "not found"]);
    });

    await t.step("a manifest of another format version", async () => {
      const other = join(tmp, "data-v2");
      await writeToyDataset(other);
      const manifestFile = join(other, "manifest.json");
      const m = JSON.parse(await Deno.readTextFile(manifestFile));
      m.format = "dirbench.dataset/2";
      await Deno.writeTextFile(manifestFile, JSON.stringify(m));
      await refuses(
        jsonl(goodLines()),
        () => [manifestFile, `"dirbench.dataset/2"`, `"dirbench.dataset/1"`],
        { data: other },
      );
    });

    await t.step("a test split changed after preparing", async () => {
      const other = join(tmp, "data-changed");
      await writeToyDataset(other);
      const testFile = join(other, "test.jsonl");
      const text = await Deno.readTextFile(testFile);
      await Deno.writeTextFile(testFile, text.replace(`"label":90`, `"label":91`));
      await refuses(jsonl(goodLines()), () => [testFile, "sha256"], { data: other });
    });

    await t.step("a dataset directory that does not exist", async () => {
      const missing = join(tmp, "no-such-dataset");
      await refuses(jsonl(goodLines()), () => [join(missing, "manifest.json"), "not found"], {
        data: missing,
      });
    });

    await t.step("an unknown flag is a usage error", async () => {
      const out = join(outDir, "flag.json");
      const file = join(tmp, "good.jsonl");
      await Deno.writeTextFile(file, jsonl(goodLines()));
      const run = await runEvalOn(data, file, out, "--bogus");
      assertRefused(run, ["--bogus", "usage:"], 2);
      assert.equal(await exists(out), false);
    });

    await t.step("a missing --out is a usage error", async () => {
      const file = join(tmp, "good.jsonl");
      const run = await runEval(["--data", data, "--predictions", file]);
      assertRefused(run, ["--out is required", "usage:"], 2);
      assert.deepEqual(await listDir(outDir), []);
    });

    await t.step("a missing --predictions is a usage error", async () => {
      const out = join(outDir, "nopred.json");
      const run = await runEval(["--data", data, "--out", out]);
      assertRefused(run, ["--predictions is required"], 2);
      assert.equal(await exists(out), false);
    });

    await t.step("a bad --resamples is a usage error naming the flag", async () => {
      const out = join(outDir, "res.json");
      const file = join(tmp, "good.jsonl");
      const run = await runEvalOn(data, file, out, "--resamples", "0");
      assertRefused(run, ["--resamples", `"0"`], 2);
      assert.equal(await exists(out), false);
    });

    await t.step("--config that is not a JSON object is a usage error", async () => {
      const out = join(outDir, "cfg.json");
      const file = join(tmp, "good.jsonl");
      const run = await runEvalOn(data, file, out, "--config", "[1]");
      assertRefused(run, ["--config must be a JSON object"], 2);
      assert.equal(await exists(out), false);
    });
  });
});

Deno.test("eval: a bad run leaves an earlier good results file and its figures untouched", async () => {
  await withGoodPredictions(async ({ tmp, data, good }) => {
    const outDir = join(tmp, "out");
    const out = join(outDir, "r.json");
    const first = await runEvalOn(data, good, out, "--plots");
    assert.equal(first.code, 0, first.stderr);
    const names = await listDir(outDir);
    assert.deepEqual(names, ["r.abs-error.svg", "r.bin-mae.svg", "r.json"]);
    const before = await Promise.all(names.map((name) => Deno.readFile(join(outDir, name))));

    const badInputs: [string, (f: string) => string[]][] = [
      [jsonl([...goodLines(11), `{"id":"t11","value":1e999}`]), (f) => [`${f}:12:`]],
      [jsonl(goodLines(10)), (f) => [f, "2 of 12"]],
      [jsonl([...goodLines(), { id: "t0", value: 1 }]), (f) => [`${f}:13:`, "duplicate"]],
    ];
    for (const [i, [text, parts]] of badInputs.entries()) {
      const bad = join(tmp, `bad-${i}.jsonl`);
      await Deno.writeTextFile(bad, text);
      const run = await runEvalOn(data, bad, out, "--plots");
      assertRefused(run, parts(bad), 1);
      assert.deepEqual(await listDir(outDir), names, "files were added or removed beside --out");
      for (const [k, name] of names.entries()) {
        assert.deepEqual(await Deno.readFile(join(outDir, name)), before[k], `${name} changed`);
      }
    }
  });
});

Deno.test("eval: an --out that is a directory is refused with a clear message", async () => {
  await withGoodPredictions(async ({ tmp, data, good }) => {
    const out = join(tmp, "out-dir");
    await Deno.mkdir(out);
    const run = await runEvalOn(data, good, out);
    // A directory at --out must be refused up front, not surface as an uncaught rename error.
    assertRefused(run, [out]);
    assert.deepEqual(
      await listDir(tmp),
      ["data", "good.jsonl", "out-dir"],
      "a temporary file was left behind",
    );
  });
});
