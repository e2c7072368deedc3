import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import {
  DATASET_FORMAT,
  type DatasetManifest,
  type ManifestInput,
  parseManifest,
  readManifest,
  readPreparedDataset,
  readSplit,
  type Sample,
  writePreparedDataset,
} from "./format.ts";

const INPUT: ManifestInput = {
  id: "toy-dir",
  prompt: "How old is this person?",
  label: { min: 0, max: 100, unit: "years" },
};

const TRAIN: Sample[] = [
  { id: "a0", label: 10 },
  { id: "a1", label: 10.5 },
  { id: "a2", label: 42, image: "img/a2.jpg" },
];
const TEST: Sample[] = [
  { id: "t0", label: 0 },
  { id: "t1", label: 100 },
];

/** A valid manifest object (before parseManifest), for field-by-field corruption. */
function validManifestJson(): Record<string, unknown> {
  const sha = "0".repeat(64);
  return {
    format: DATASET_FORMAT,
    id: "toy-dir",
    prompt: "p",
    label: { min: 0, max: 100, unit: "years", binWidth: 1 },
    shots: { manyAbove: 100, fewBelow: 20 },
    splits: {
      train: { file: "train.jsonl", count: 3, sha256: sha },
      test: { file: "test.jsonl", count: 2, sha256: sha },
    },
  };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dirbench-format-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `fn` throws an InputError whose message contains every one of `parts`. */
async function assertInputError(fn: () => unknown, ...parts: string[]): Promise<InputError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected an InputError containing ${JSON.stringify(parts)}, got no error`);
  assert.ok(caught instanceof InputError, `expected an InputError, got ${caught}`);
  for (const part of parts) {
    assert.ok(
      caught.message.includes(part),
      `expected the message to contain ${JSON.stringify(part)}: ${caught.message}`,
    );
  }
  return caught;
}

/** Replaces a split's file with `text` and rewrites the manifest with its true sha256 and `count`. */
async function replaceSplit(
  dir: string,
  manifest: DatasetManifest,
  split: "train" | "test",
  text: string,
  count: number,
): Promise<DatasetManifest> {
  await Deno.writeTextFile(join(dir, manifest.splits[split].file), text);
  const next: DatasetManifest = {
    ...manifest,
    splits: {
      ...manifest.splits,
      [split]: { ...manifest.splits[split], count, sha256: await sha256Hex(text) },
    },
  };
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(next, null, 2) + "\n");
  return next;
}

Deno.test("writePreparedDataset then readPreparedDataset round-trips and fills defaults", async () => {
  await withTempDir(async (dir) => {
    const written = await writePreparedDataset(dir, INPUT, TRAIN, TEST);
    assert.equal(written.format, DATASET_FORMAT);
    assert.equal(written.label.binWidth, 1);
    assert.deepEqual(written.shots, { manyAbove: 100, fewBelow: 20 });
    assert.equal(written.splits.train.count, 3);
    assert.equal(written.splits.test.count, 2);
    assert.equal(written.splits.train.file, "train.jsonl");

    const ds = await readPreparedDataset(dir);
    assert.equal(ds.dir, dir);
    assert.deepEqual(ds.manifest, written);
    assert.deepEqual(ds.train.samples, TRAIN);
    assert.deepEqual(ds.test.samples, TEST);
    assert.equal(ds.train.sha256, written.splits.train.sha256);
    assert.equal(ds.test.sha256, written.splits.test.sha256);
    assert.equal(ds.train.sha256, await sha256Hex(await Deno.readFile(join(dir, "train.jsonl"))));

    // The manifest on disk, read alone, is the same with defaults filled.
    const onDisk = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
    assert.equal(onDisk.format, "dirbench.dataset/1");
    assert.equal(onDisk.label.binWidth, 1);
    assert.deepEqual(await readManifest(dir), written);

    // No temporary files left behind by the atomic writer.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["manifest.json", "test.jsonl", "train.jsonl"]);
  });
});

Deno.test("writePreparedDataset keeps explicit binWidth, shots and extra fields", async () => {
  await withTempDir(async (dir) => {
    const written = await writePreparedDataset(
      dir,
      {
        ...INPUT,
        label: { ...INPUT.label, binWidth: 5 },
        shots: { manyAbove: 50, fewBelow: 10 },
        source: "x",
      },
      TRAIN,
      TEST,
    );
    const ds = await readPreparedDataset(dir);
    assert.equal(ds.manifest.label.binWidth, 5);
    assert.deepEqual(ds.manifest.shots, { manyAbove: 50, fewBelow: 10 });
    assert.equal(ds.manifest.source, "x");
    assert.deepEqual(ds.manifest, written);
  });
});

Deno.test("parseManifest fills binWidth and shots defaults when absent", () => {
  const json = validManifestJson();
  delete (json.label as Record<string, unknown>).binWidth;
  delete json.shots;
  const m = parseManifest(json, "/d/manifest.json");
  assert.equal(m.label.binWidth, 1);
  assert.deepEqual(m.shots, { manyAbove: 100, fewBelow: 20 });
});

Deno.test("parseManifest rejects bad manifests, naming the file", async (t) => {
  const file = "/some/where/manifest.json";
  const cases: [string, (m: Record<string, unknown>) => void, string[]][] = [
    ["another format version", (m) => (m.format = "dirbench.dataset/2"), [
      "dirbench.dataset/2",
      `reads "dirbench.dataset/1"`,
    ]],
    ["no format", (m) => delete m.format, ["unsupported dataset format"]],
    ["missing id", (m) => delete m.id, [`"id" must be a non-empty string`]],
    ["empty id", (m) => (m.id = ""), [`"id" must be a non-empty string`]],
    ["label.max == label.min", (m) => Object.assign(m.label as object, { min: 5, max: 5 }), [
      `"label.max" (5) must be greater than "label.min" (5)`,
    ]],
    ["label.max < label.min", (m) => Object.assign(m.label as object, { min: 10, max: 1 }), [
      `"label.max"`,
    ]],
    ["non-finite label.min", (m) => Object.assign(m.label as object, { min: "0" }), [
      `"label.min" must be a finite number`,
    ]],
    ["zero binWidth", (m) => Object.assign(m.label as object, { binWidth: 0 }), [
      `"label.binWidth" must be positive, got 0`,
    ]],
    ["negative binWidth", (m) => Object.assign(m.label as object, { binWidth: -1 }), [
      `"label.binWidth" must be positive`,
    ]],
    ["upper-case sha256", (m) => {
      (m.splits as { test: { sha256: string } }).test.sha256 = "A".repeat(64);
    }, [`"splits.test.sha256" must be 64 lower-case hex digits`]],
    ["short sha256", (m) => {
      (m.splits as { train: { sha256: string } }).train.sha256 = "abc";
    }, [`"splits.train.sha256" must be 64 lower-case hex digits`]],
    ["non-integer count", (m) => {
      (m.splits as { train: { count: number } }).train.count = 1.5;
    }, [`"splits.train.count" must be a non-negative integer`]],
    ["missing splits.test", (m) => delete (m.splits as Record<string, unknown>).test, [
      `"test" must be an object, got nothing`,
    ]],
  ];
  for (const [name, mutate, parts] of cases) {
    await t.step(name, async () => {
      const json = validManifestJson();
      mutate(json);
      await assertInputError(() => parseManifest(json, file), `${file}: `, ...parts);
    });
  }
  await t.step("not an object", async () => {
    await assertInputError(() => parseManifest([1], file), file, "expected a JSON object, got an array");
    await assertInputError(() => parseManifest(null, file), file, "got null");
  });
});

Deno.test("readManifest rejects malformed JSON and a missing manifest, naming the file", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "manifest.json");
    await assertInputError(() => readManifest(dir), file, "not found");
    await Deno.writeTextFile(file, "{ not json");
    await assertInputError(() => readManifest(dir), file, "malformed JSON");
    await Deno.writeTextFile(file, JSON.stringify({ ...validManifestJson(), format: "dirbench.dataset/2" }));
    await assertInputError(() => readManifest(dir), file, `"dirbench.dataset/2"`, "dirbench.dataset/1");
  });
});

Deno.test("readSplit rejects corrupted splits, naming the file and line", async (t) => {
  await withTempDir(async (dir) => {
    const base = await writePreparedDataset(dir, INPUT, TRAIN, TEST);
    const testFile = join(dir, "test.jsonl");
    const trainFile = join(dir, "train.jsonl");
    const good = await Deno.readTextFile(testFile);

    await t.step("bytes changed after preparing (sha256 mismatch)", async () => {
      await Deno.writeTextFile(testFile, good.replace(`"label":0`, `"label":1`));
      const err = await assertInputError(
        () => readSplit(dir, base, "test"),
        testFile,
        "does not match manifest.json splits.test.sha256",
        base.splits.test.sha256,
        "changed after it was prepared",
      );
      assert.equal(err.location?.file, testFile);
      await assertInputError(() => readPreparedDataset(dir), testFile, "sha256");
      await Deno.writeTextFile(testFile, good);
    });

    await t.step("even a trailing newline added changes the sha256", async () => {
      await Deno.writeTextFile(testFile, good + "\n");
      await assertInputError(() => readSplit(dir, base, "test"), testFile, "sha256");
      await Deno.writeTextFile(testFile, good);
    });

    await t.step("count mismatch (right sha, wrong count)", async () => {
      const m = await replaceSplit(dir, base, "test", good, 3);
      await assertInputError(
        () => readSplit(dir, m, "test"),
        testFile,
        "has 2 samples but manifest.json splits.test.count says 3",
      );
      await assertInputError(() => readPreparedDataset(dir), testFile, "count says 3");
    });

    await t.step("missing split file", async () => {
      const m: DatasetManifest = {
        ...base,
        splits: { ...base.splits, test: { ...base.splits.test, file: "nope.jsonl" } },
      };
      await assertInputError(
        () => readSplit(dir, m, "test"),
        join(dir, "nope.jsonl"),
        "test split not found",
      );
    });

    const lineCases: [string, string, number, string[]][] = [
      [
        "duplicate id",
        `{"id":"t0","label":1}\n{"id":"t1","label":2}\n{"id":"t0","label":3}\n`,
        3,
        [`duplicate id "t0"`],
      ],
      ["missing id", `{"id":"t0","label":1}\n{"label":2}\n`, 2, [`"id" must be a non-empty string`]],
      ["numeric id", `{"id":7,"label":2}\n`, 1, [`"id" must be a non-empty string, got a number`]],
      ["empty id", `{"id":"","label":2}\n`, 1, [`"id" must be a non-empty string`]],
      ["string label", `{"id":"t0","label":"2"}\n`, 1, [`"label" must be a finite number, got a string`]],
      ["null label", `{"id":"t0","label":null}\n`, 1, [`"label" must be a finite number, got null`]],
      ["missing label", `{"id":"t0"}\n`, 1, [`"label" must be a finite number`]],
      ["non-finite label (1e999)", `{"id":"t0","label":1}\n{"id":"t1","label":1e999}\n`, 2, [
        `"label" must be a finite number`,
      ]],
      ["label above max", `{"id":"t0","label":100.5}\n`, 1, [
        "label 100.5 is outside the manifest's label range [0, 100]",
      ]],
      ["label below min", `{"id":"t0","label":1}\n\n{"id":"t1","label":-1}\n`, 3, [
        "label -1 is outside",
      ]],
      ["malformed JSON line", `{"id":"t0","label":1}\n{"id":"t1","label":\n`, 2, ["malformed JSON"]],
      ["a line that is not an object", `{"id":"t0","label":1}\n[1,2]\n`, 2, [
        "expected a JSON object, got an array",
      ]],
    ];
    for (const [name, text, line, parts] of lineCases) {
      await t.step(name, async () => {
        const count = text.split("\n").filter((l) => l.trim() !== "").length;
        const m = await replaceSplit(dir, base, "test", text, count);
        const err = await assertInputError(
          () => readSplit(dir, m, "test"),
          `${testFile}:${line}: `,
          ...parts,
        );
        assert.deepEqual(err.location, { file: testFile, line });
      });
    }

    await t.step("the train split is checked the same way", async () => {
      const text = `{"id":"a0","label":1}\n{"id":"a0","label":2}\n`;
      const m = await replaceSplit(dir, base, "train", text, 2);
      await assertInputError(() => readSplit(dir, m, "train"), `${trainFile}:2: `, `duplicate id "a0"`);
      await assertInputError(() => readPreparedDataset(dir), `${trainFile}:2`);
    });

    await t.step("boundary labels min and max and blank lines are accepted", async () => {
      const text = `{"id":"t0","label":0}\n\n{"id":"t1","label":100}\r\n\n`;
      const m = await replaceSplit(dir, base, "test", text, 2);
      const split = await readSplit(dir, m, "test");
      assert.deepEqual(split.samples.map((s) => s.id), ["t0", "t1"]);
      assert.equal(split.sha256, m.splits.test.sha256);
    });
  });
});
