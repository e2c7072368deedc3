import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import { type FixtureFile, makeZip, writeTree } from "./_raw_fixtures.ts";
import type { AdapterOutput, LoadContext } from "./adapter.ts";
import { boneAgeDir, fetchBoneAge, indexBoneAgeFiles, pickImage } from "./boneage.ts";
import type { RemoteFile } from "./fetch.ts";
import { readPreparedDataset } from "./format.ts";
import { prepareDataset } from "./prepare.ts";
import { withTempDir } from "../tasks/_testing.ts";

/** A small grayscale radiograph stand-in (one channel, as RSNA's PNGs). */
async function grayPng(seed: number): Promise<Uint8Array> {
  const v = (seed * 53) % 256;
  const buf = await sharp({
    create: { width: 20, height: 24, channels: 3, background: { r: v, g: v, b: v } },
  })
    .toColourspace("b-w").png().toBuffer();
  return new Uint8Array(buf);
}

/** Official train.csv: months 120 ×4, 60 ×3 (1383's PNG is corrupt), 200, 36; 1387 has no image. */
const TRAIN_ROWS: [number, number, string][] = [
  [1377, 120, "False"],
  [1378, 120, "True"],
  [1379, 120, "True"],
  [1380, 120, "False"],
  [1381, 60, "True"],
  [1382, 60, "False"],
  [1383, 60, "True"],
  [1384, 200, "False"],
  [1385, 36, "True"],
  [1387, 90, "False"],
];
/** Official "Validation Dataset.csv" (Image ID,male,Bone Age (months)); 1392 has a fractional age. */
const VALIDATION_ROWS: [number, string, string][] = [
  [1386, "TRUE", "36"],
  [1392, "FALSE", "50.5"],
  [1397, "TRUE", "120"],
];

const trainCsv = (name = "id,boneage,male") =>
  [name, ...TRAIN_ROWS.map(([id, age, male]) => `${id},${age},${male}`)].join("\n") + "\n";

async function trainImages(prefix: string): Promise<FixtureFile[]> {
  const files: FixtureFile[] = [];
  for (const [id] of TRAIN_ROWS) {
    if (id === 1387) continue;
    files.push({ name: `${prefix}/${id}.png`, data: id === 1383 ? "corrupt PNG bytes" : await grayPng(id) });
  }
  return files;
}

/** The three official RSNA zips, in their real layouts (the validation zip nests two zips). */
async function officialZips(): Promise<Map<string, Uint8Array>> {
  const val1 = await makeZip([{ name: "boneage-validation-dataset-1/1386.png", data: await grayPng(1386) }]);
  const val2 = await makeZip([
    { name: "boneage-validation-dataset-2/1392.png", data: await grayPng(1392) },
    { name: "boneage-validation-dataset-2/1397.png", data: await grayPng(1397) },
  ]);
  const valCsv = ["Image ID,male,Bone Age (months)", ...VALIDATION_ROWS.map((r) => r.join(","))].join("\r\n");
  return new Map([
    [
      "Bone Age Training Set.zip",
      await makeZip([
        ...await trainImages("boneage-training-dataset"),
        { name: "__MACOSX/boneage-training-dataset/._1377.png", data: "resource fork" },
      ]),
    ],
    ["Bone Age Training Set Annotations.zip", await makeZip([{ name: "train.csv", data: trainCsv() }])],
    [
      "Bone Age Validation Set.zip",
      await makeZip([
        { name: "Bone Age Validation Set/boneage-validation-dataset-1.zip", data: val1 },
        { name: "Bone Age Validation Set/boneage-validation-dataset-2.zip", data: val2 },
        { name: "Bone Age Validation Set/Validation Dataset.csv", data: valCsv },
      ]),
    ],
  ]);
}

/** The Kaggle mirror kmader/rsna-bone-age: training CSV and images, plus an unlabelled test set. */
async function kaggleZip(): Promise<Uint8Array> {
  return await makeZip([
    { name: "boneage-training-dataset.csv", data: trainCsv() },
    ...await trainImages("boneage-training-dataset/boneage-training-dataset"),
    { name: "boneage-test-dataset.csv", data: "Case ID,Sex\n4360,M\n" },
    { name: "boneage-test-dataset/boneage-test-dataset/4360.png", data: await grayPng(4360) },
  ]);
}

const loadCtx = (cache: string, extra: Partial<LoadContext> = {}): LoadContext => ({
  cache,
  seed: 0,
  sizes: {},
  log: () => {},
  ...extra,
});

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

Deno.test("boneage-dir: fetch downloads and extracts the official zips (nested ones too); prepare end to end", async () => {
  await withTempDir("dirbench-boneage-", async (dir) => {
    const zips = await officialZips();
    const files: RemoteFile[] = [];
    for (const [name, bytes] of zips) {
      files.push({
        name,
        url: `https://example.test/${encodeURIComponent(name)}`,
        sha256: await sha256Hex(bytes),
      });
    }
    const requests: string[] = [];
    const fetchImpl = ((url: string | URL | Request) => {
      requests.push(String(url));
      const name = decodeURIComponent(String(url).split("/").pop()!);
      return Promise.resolve(new Response(zips.get(name)! as Uint8Array<ArrayBuffer>));
    }) as typeof fetch;
    const cache = join(dir, "cache");
    const logs: string[] = [];
    await fetchBoneAge({ cache, log: (m) => logs.push(m) }, { files, fetchImpl, quiet: true });
    assert.equal(requests.length, 3);

    const data = join(cache, "boneage-dir", "data");
    const index = await indexBoneAgeFiles(data);
    assert.deepEqual(index.csvs, [
      "Bone Age Training Set Annotations/train.csv",
      "Bone Age Validation Set/Bone Age Validation Set/Validation Dataset.csv",
    ]);
    assert.equal(index.images.size, 12); // 9 training + 3 validation from the nested zips
    assert.deepEqual(index.images.get("1392"), [
      "Bone Age Validation Set/Bone Age Validation Set/boneage-validation-dataset-2/boneage-validation-dataset-2/1392.png",
    ]);
    for await (const e of Deno.readDir(join(data, "Bone Age Validation Set", "Bone Age Validation Set"))) {
      assert.ok(!e.name.endsWith(".zip"), `nested zip ${e.name} was left behind`);
    }
    assert.match(logs.join("\n"), /2 nested zips opened/);

    // Fetching again verifies the kept zips instead of downloading them.
    await fetchBoneAge({ cache, log: (m) => logs.push(m) }, { files, fetchImpl, quiet: true });
    assert.equal(requests.length, 3);
    assert.match(logs.join("\n"), /already downloaded and verified/);

    const out = join(dir, "out");
    const result = await prepareDataset(boneAgeDir, {
      out,
      quiet: true,
      images: { maxSide: 16 },
      load: { cache, sizes: {}, log: () => {} },
    });
    const ds = await readPreparedDataset(out);
    assert.equal(ds.manifest.id, "boneage-dir");
    assert.deepEqual(ds.manifest.label, { min: 0, max: 228, unit: "months", binWidth: 1 });
    // Pool of 12: month 120 has 5 → 2 test, 60 has 3 → 1, 36 has 2 → 1, 200 and 50 one each → 0.
    const all = [...ds.train.samples, ...ds.test.samples];
    assert.equal(all.length, 11); // 1383's PNG does not decode
    const corrupt = result.dropped.find((d) => d.id === "boneage-1383")!;
    assert.match(corrupt.reason, /^unreadable image/);
    assert.equal(ds.test.samples.length, corrupt.split === "test" ? 3 : 4);
    assert.deepEqual(
      result.dropped.map((d) => d.id).sort(),
      ["boneage-1383", "boneage-1387"],
    );
    assert.match(result.dropped.find((d) => d.id === "boneage-1387")!.reason, /missing/);
    const byId = new Map(all.map((s) => [s.id, s]));
    assert.deepEqual(
      [byId.get("boneage-1392")!.label, byId.get("boneage-1392")!.origin, byId.get("boneage-1392")!.male],
      [50, "validation", false],
    );
    assert.deepEqual([byId.get("boneage-1384")!.label, byId.get("boneage-1384")!.origin], [200, "train"]);
    assert.ok(all.every((s) => s.height === 16 && s.width === 13));
    const card = await Deno.readTextFile(join(out, "card.md"));
    assert.match(card, /Peak filter not applied/);
    assert.match(card, /1 ages here had a fraction, truncated/);
    assert.match(card, /Pooled here: 9 training \+ 3 validation = 12/);
    assert.equal((ds.manifest.inputs as unknown[]).length, 2);
  });
});

Deno.test("boneage-dir: fetch --from a folder of the official zips, or of their extracted contents, gives the same split", async () => {
  await withTempDir("dirbench-boneage-", async (dir) => {
    const zips = await officialZips();
    const folder = join(dir, "downloads");
    await writeTree(folder, [...zips].map(([name, data]) => ({ name, data })));
    const splitOf = (out: AdapterOutput) => [ids(out.train), ids(out.test)];

    const cache = join(dir, "cache");
    await fetchBoneAge({ cache, from: folder, log: () => {} }, { quiet: true });
    const fromZips = await boneAgeDir.load(loadCtx(cache));
    assert.equal(fromZips.train.length + fromZips.test.length, 12);

    // prepare --from reads an extracted folder in place (here: the cache's own data folder).
    const inPlace = await boneAgeDir.load(
      loadCtx(join(dir, "none"), { from: join(cache, "boneage-dir", "data") }),
    );
    assert.deepEqual(splitOf(inPlace), splitOf(fromZips));

    // One official zip given directly replaces the earlier import.
    await fetchBoneAge({ cache, from: join(folder, "Bone Age Validation Set.zip"), log: () => {} }, {
      quiet: true,
    });
    // Only the validation set now: its three rows.
    const valOnly = await boneAgeDir.load(loadCtx(cache));
    assert.deepEqual(ids([...valOnly.train, ...valOnly.test]).sort(), [
      "boneage-1386",
      "boneage-1392",
      "boneage-1397",
    ]);

    const seeded = await boneAgeDir.load(loadCtx(join(dir, "none"), {
      from: join(cache, "boneage-dir", "data"),
      seed: 9,
    }));
    assert.equal(seeded.test.length, 0); // three months with one row each
  });
});

Deno.test("boneage-dir: fetch --from the Kaggle mirror ignores its unlabelled test set", async () => {
  await withTempDir("dirbench-boneage-", async (dir) => {
    const zip = join(dir, "rsna-bone-age.zip");
    await Deno.writeFile(zip, await kaggleZip());
    const cache = join(dir, "cache");
    await fetchBoneAge({ cache, from: zip, log: () => {} }, { quiet: true });
    const index = await indexBoneAgeFiles(join(cache, "boneage-dir", "data"));
    assert.deepEqual(index.csvs, ["rsna-bone-age/boneage-training-dataset.csv"]);
    assert.equal(index.images.has("4360"), false);

    const out = join(dir, "out");
    const result = await prepareDataset(boneAgeDir, {
      out,
      quiet: true,
      images: { maxSide: 16 },
      load: { cache, sizes: {}, log: () => {} },
    });
    const ds = await readPreparedDataset(out);
    // 9 pooled: 120 ×4 → 2 test, 60 ×3 → 1, 200 and 36 → 0; minus the corrupt 1383.
    assert.equal(ds.train.samples.length + ds.test.samples.length, 8);
    const corrupt = result.dropped.find((d) => d.id === "boneage-1383")!;
    assert.equal(ds.test.samples.length, corrupt.split === "test" ? 2 : 3);
    assert.ok(ds.train.samples.every((s) => s.origin === "train"));
  });
});

Deno.test("boneage-dir: malformed CSV rows are InputErrors naming the file and line", async () => {
  await withTempDir("dirbench-boneage-", async (dir) => {
    const png = await grayPng(1);
    const cases: [string, string, RegExp][] = [
      [
        "train.csv",
        "id,boneage,male\n1377,120,True\nx1378,12,False\n",
        /train\.csv:3: "id" must be a whole number/,
      ],
      [
        "train.csv",
        "id,boneage,male\n1377,120,True\n1378,twelve,False\n",
        /train\.csv:3: "boneage" must be a number/,
      ],
      [
        "train.csv",
        "id,boneage,male\n1377,120,True\n1378,12,maybe\n",
        /train\.csv:3: "male" must be True or False/,
      ],
      [
        "Validation Dataset.csv",
        "Image ID,male,Bone Age (months)\n1386,TRUE,36\n1392,FALSE\n",
        /Validation Dataset\.csv:3: expected 3 fields/,
      ],
      ["other.csv", "a,b\n1,2\n", /no labelled CSV/],
    ];
    for (const [k, [name, text, re]] of cases.entries()) {
      const root = join(dir, `case${k}`);
      await writeTree(root, [{ name, data: text }, { name: "1377.png", data: png }]);
      await assert.rejects(
        () => boneAgeDir.load(loadCtx(dir, { from: root })),
        (e) => e instanceof InputError && re.test(e.message),
        `case ${k}`,
      );
    }
  });
});

Deno.test("boneage-dir: not fetched, an archive given to prepare, and fixed-protocol flags are InputErrors", async () => {
  await withTempDir("dirbench-boneage-", async (dir) => {
    await assert.rejects(
      () => boneAgeDir.load(loadCtx(dir)),
      (e) =>
        e instanceof InputError && /not been fetched/.test(e.message) &&
        /kmader\/rsna-bone-age/.test(e.message),
    );
    await Deno.writeFile(join(dir, "k.zip"), await makeZip([{ name: "train.csv", data: trainCsv() }]));
    await assert.rejects(
      () => boneAgeDir.load(loadCtx(dir, { from: join(dir, "k.zip") })),
      (e) => e instanceof InputError && /deno task fetch boneage-dir --from/.test(e.message),
    );
    await assert.rejects(
      () =>
        fetchBoneAge({ cache: join(dir, "c"), from: join(dir, "nothing-here"), log: () => {} }, {
          quiet: true,
        }),
      (e) => e instanceof InputError && /not found/.test(e.message),
    );
    await Deno.writeFile(join(dir, "junk.zip"), await makeZip([{ name: "readme.txt", data: "x" }]));
    await assert.rejects(
      () =>
        fetchBoneAge({ cache: join(dir, "c"), from: join(dir, "junk.zip"), log: () => {} }, { quiet: true }),
      (e) => e instanceof InputError && /no labelled CSV/.test(e.message),
    );
    await assert.rejects(
      () => boneAgeDir.load(loadCtx(dir, { sizes: { train: 10 } })),
      (e) => e instanceof InputError && /fixed protocol/.test(e.message),
    );
  });
});

Deno.test("pickImage: a row takes the image of its own set, then the shallowest, then the smallest path", () => {
  const paths = ["a/1.png", "b/1.png", "x/training/1.png", "x/validation/1.png"];
  assert.equal(pickImage(paths, "train"), "x/training/1.png");
  assert.equal(pickImage(paths, "validation"), "x/validation/1.png");
  assert.equal(pickImage(["a/1.png", "b/1.png"], "validation"), "a/1.png");
  assert.equal(pickImage([], "train"), undefined);
});
