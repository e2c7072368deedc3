import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { readResults, RESULTS_FORMAT, resultsProblems } from "./results.ts";
import { longTailDataset, resultsFor } from "./testing/fixtures.ts";

const dataset = longTailDataset(60);
const results = resultsFor(
  dataset,
  "fixture",
  (y, i) => (i % 7 === 0 ? { output: "no idea" } : { value: y + 2 }),
  20,
);

Deno.test("buildResults output validates against the JSON Schema", () => {
  assert.equal(results.format, RESULTS_FORMAT);
  assert.deepEqual(resultsProblems(JSON.parse(JSON.stringify(results))), []);
  assert.equal(results.provenance.seeds.bootstrap, 3);
  assert.equal(results.dataset.testCount, 60);
  assert.equal(results.samples.length, 60);
});

Deno.test("the schema catches a broken results object", () => {
  const broken = JSON.parse(JSON.stringify(results));
  delete broken.metrics.few.mae;
  broken.samples[0].region = "rare";
  const problems = resultsProblems(broken);
  assert.ok(problems.some((p) => p.includes("/metrics/few") && p.includes("mae")), problems.join("\n"));
  assert.ok(problems.some((p) => p.includes("/samples/0/region")), problems.join("\n"));
});

Deno.test("readResults checks the format version and the schema, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = join(dir, "good.json");
    await Deno.writeTextFile(good, JSON.stringify(results));
    assert.equal((await readResults(good)).method.name, "fixture");

    const future = join(dir, "future.json");
    await Deno.writeTextFile(future, JSON.stringify({ ...results, format: "dirbench.results/2" }));
    await assert.rejects(
      readResults(future),
      (e) =>
        e instanceof InputError && e.message.includes(future) && e.message.includes("dirbench.results/1"),
    );

    const invalid = join(dir, "invalid.json");
    await Deno.writeTextFile(invalid, JSON.stringify({ ...results, samples: "none" }));
    await assert.rejects(readResults(invalid), (e) => e instanceof InputError && /\/samples/.test(e.message));

    const malformed = join(dir, "malformed.json");
    await Deno.writeTextFile(malformed, "{");
    await assert.rejects(
      readResults(malformed),
      (e) => e instanceof InputError && /malformed JSON/.test(e.message),
    );

    await assert.rejects(
      readResults(join(dir, "missing.json")),
      (e) => e instanceof InputError && /not found/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
