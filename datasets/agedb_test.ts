import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import { exists, withTempDir } from "../tasks/_testing.ts";
import {
  AGEDB_COUNTS,
  agedbDir,
  agedbImagesDir,
  createAgedbAdapter,
  isAgedbImage,
  parseAgedbName,
} from "./agedb.ts";
import { AGEDB_DIR_TRAIN_COUNTS } from "./agedb_histogram.ts";
import { AGEDB_SPLIT, resolveSplitFile } from "./dir_split.ts";
import { gitBlobSha1, type RemoteFile } from "./fetch.ts";
import { readPreparedDataset } from "./format.ts";
import { prepareDataset } from "./prepare.ts";
import {
  type FixtureFile,
  HAVE_REAL_AGEDB_SPLIT,
  makeTar,
  makeZip,
  REAL_AGEDB_SPLIT,
  serveFiles,
  tinyJpeg,
  writeTree,
} from "./_raw_fixtures.ts";

/** A small split in the official format, names garbled as in the real file where AgeDB has accents. */
const SPLIT_CSV = [
  "age,path,split",
  "31,AgeDB/11706_OliviaHussey_31_f.jpg,train",
  "44,AgeDB/15872_StВphaneAudran_44_f.jpg,train",
  "30,AgeDB/12853_MylКneDemongeot_30_f.jpg,train",
  "77,AgeDB/9560_RicardoMontalbаn_77_m.jpg,test",
  "59,AgeDB/11684_MireilleDarc_59_f.jpg,val",
  "8,AgeDB/16107_DannyGlover_8_m.jpg,test",
  "61,AgeDB/9352_GeorgesMarchal_61_m.jpg,train",
  "35,AgeDB/4087_DickVanDyke_35_m.jpg,test",
  "",
].join("\n");

/** The images as the AgeDB zip names them (CP437, not garbled), minus 9352, with 4087's age off by one. */
const IMAGE_NAMES = [
  "AgeDB/11706_OliviaHussey_31_f.jpg",
  "AgeDB/15872_StéphaneAudran_44_f.jpg",
  "AgeDB/12853_MylèneDemongeot_30_f.jpg",
  "AgeDB/9560_RicardoMontalbán_77_m.jpg",
  "AgeDB/11684_MireilleDarc_59_f.jpg",
  "AgeDB/16107_DannyGlover_8_m.jpg",
  "AgeDB/4087_DickVanDyke_36_m.jpg",
];

async function imageFiles(prefix = ""): Promise<FixtureFile[]> {
  const files: FixtureFile[] = [];
  for (const [i, name] of IMAGE_NAMES.entries()) files.push({ name: prefix + name, data: await tinyJpeg(i) });
  // Junk a real zip may carry: macOS resource forks and a stray text file.
  files.push({ name: `${prefix}__MACOSX/AgeDB/._11706_OliviaHussey_31_f.jpg`, data: "junk" });
  files.push({ name: `${prefix}AgeDB/readme.txt`, data: "hello" });
  return files;
}

async function splitSpec(url: string): Promise<RemoteFile> {
  const bytes = new TextEncoder().encode(SPLIT_CSV);
  return { name: "agedb.csv", url, gitBlobSha1: await gitBlobSha1(bytes), sha256: await sha256Hex(bytes) };
}

const logs: string[] = [];
const log = (m: string) => logs.push(m);

Deno.test("AgeDB file names: numeric id prefix, age, and which archive entries are images", () => {
  assert.deepEqual(parseAgedbName("AgeDB/15872_StВphaneAudran_44_f.jpg"), { id: 15872, age: 44 });
  assert.deepEqual(parseAgedbName("x/3_Odd.jpg"), { id: 3, age: undefined });
  assert.equal(parseAgedbName("AgeDB/readme.txt"), null);
  assert.equal(isAgedbImage("a/b/AgeDB/1_A_30_m.JPG"), true);
  assert.equal(isAgedbImage("__MACOSX/AgeDB/._1_A_30_m.jpg"), false);
});

Deno.test("agedb-dir: fetch --from AgeDB.zip (CP437 names) imports the images; prepare builds a valid dataset", async () => {
  const server = serveFiles({ "agedb.csv": new TextEncoder().encode(SPLIT_CSV) });
  try {
    await withTempDir("agedb-", async (dir) => {
      const adapter = createAgedbAdapter({ split: await splitSpec(server.url("agedb.csv")) });
      const zip = join(dir, "AgeDB.zip");
      await Deno.writeFile(zip, await makeZip(await imageFiles()));
      const cache = join(dir, "cache");
      await adapter.fetch!(
        { cache, from: zip, log, quiet: true } as Parameters<NonNullable<typeof adapter.fetch>>[0],
      );
      assert.deepEqual(server.requests, ["agedb.csv"]);
      assert.equal(await exists(join(cache, "agedb-dir", "agedb.csv")), true);
      const imported: string[] = [];
      for await (const e of Deno.readDir(join(agedbImagesDir(cache), "AgeDB"))) imported.push(e.name);
      assert.deepEqual(imported.sort(), IMAGE_NAMES.map((n) => n.slice(6)).sort());

      // A second fetch downloads nothing and keeps the imported images.
      await adapter.fetch!({ cache, log });
      assert.deepEqual(server.requests, ["agedb.csv"]);

      const out = join(dir, "prepared");
      const result = await prepareDataset(adapter, {
        out,
        quiet: true,
        images: { maxSide: 16 },
        load: { cache, sizes: {}, log },
      });
      assert.equal(result.manifest.splits.train.count, 3);
      assert.equal(result.manifest.splits.test.count, 2);
      assert.deepEqual(
        result.dropped.map((d) => [d.id, d.split, d.reason]).sort(),
        [
          ["agedb-4087", "test", "the age in the image file name differs from the split file's"],
          ["agedb-9352", "train", "image missing (no AgeDB file with this id)"],
        ],
      );
      const ds = await readPreparedDataset(out);
      assert.deepEqual(ds.train.samples.map((s) => s.id).sort(), [
        "agedb-11706",
        "agedb-12853",
        "agedb-15872",
      ]);
      assert.deepEqual(ds.test.samples.map((s) => s.id).sort(), ["agedb-16107", "agedb-9560"]);
      const garbled = ds.train.samples.find((s) => s.id === "agedb-15872")!;
      assert.equal(garbled.label, 44);
      assert.equal(garbled.sourcePath, "AgeDB/15872_StВphaneAudran_44_f.jpg");
      assert.ok(Math.max(garbled.width as number, garbled.height as number) <= 16);
      assert.equal((ds.manifest.inputs as { sha256: string }[])[0].sha256, await sha256Hex(SPLIT_CSV));
      const card = await Deno.readTextFile(join(out, "card.md"));
      assert.match(card, /val` rows are not used/);
      assert.match(card, /numeric id prefix/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("agedb-dir: prepare reads --from directly (a folder at any depth, or a tar.gz) with --split", async () => {
  await withTempDir("agedb-", async (dir) => {
    const adapter = createAgedbAdapter({ split: await splitSpec("http://127.0.0.1:9/unused") });
    const csv = join(dir, "agedb.csv");
    await Deno.writeTextFile(csv, SPLIT_CSV);
    const tree = join(dir, "raw");
    await writeTree(tree, await imageFiles("deep/er/"));
    const fromDir = await adapter.load({
      cache: join(dir, "c1"),
      from: tree,
      split: csv,
      seed: 0,
      sizes: {},
      log,
    });
    assert.equal(fromDir.train.length, 3);
    assert.equal(fromDir.test.length, 2);
    assert.ok((fromDir.train[0].image as { path: string }).path.startsWith(tree));
    assert.equal(await exists(join(dir, "c1")), false, "a folder is read in place, not copied");

    const tgz = join(dir, "agedb.tgz");
    await Deno.writeFile(tgz, await makeTar(await imageFiles(), { gzip: true }));
    const cache = join(dir, "c2");
    const fromTar = await adapter.load({ cache, from: tgz, split: csv, seed: 0, sizes: {}, log });
    assert.deepEqual(fromTar.train.map((s) => s.id), fromDir.train.map((s) => s.id));
    assert.ok((fromTar.test[0].image as { path: string }).path.startsWith(agedbImagesDir(cache)));
  });
});

Deno.test("agedb-dir: missing images say where to request AgeDB; an encrypted zip says to extract it", async () => {
  const server = serveFiles({ "agedb.csv": new TextEncoder().encode(SPLIT_CSV) });
  try {
    await withTempDir("agedb-", async (dir) => {
      const adapter = createAgedbAdapter({ split: await splitSpec(server.url("agedb.csv")) });
      const cache = join(dir, "cache");
      await assert.rejects(() => adapter.fetch!({ cache, log }), (err: Error) => {
        assert.ok(err instanceof InputError);
        assert.ok(err.message.includes("https://ibug.doc.ic.ac.uk/resources/agedb/"), err.message);
        assert.match(err.message, /password-protected/);
        assert.match(err.message, /deno task fetch agedb-dir --from AgeDB\.zip/);
        return true;
      });
      // The split file was fetched all the same, so prepare's complaint is about the images.
      await assert.rejects(
        () => adapter.load({ cache, seed: 0, sizes: {}, log }),
        /AgeDB images are not in the cache/,
      );

      const zip = join(dir, "AgeDB.zip");
      await Deno.writeFile(zip, await makeZip(await imageFiles(), { encrypted: true }));
      await assert.rejects(
        () => adapter.fetch!({ cache, from: zip, log }),
        /the zip is encrypted .*unzip -P <password> AgeDB\.zip -d <dir>.*--from <dir>/,
      );
      assert.equal(await exists(agedbImagesDir(cache)), false);

      const empty = join(dir, "empty");
      await writeTree(empty, [{ name: "x/readme.txt", data: "no images here" }]);
      await assert.rejects(() => adapter.fetch!({ cache, from: empty, log }), /no AgeDB images/);
      assert.equal(await exists(agedbImagesDir(cache)), false);
      await assert.rejects(
        () => adapter.load({ cache, from: empty, seed: 0, sizes: { train: 10 }, log }),
        /--train and --test do not apply/,
      );
    });
  } finally {
    await server.close();
  }
});

Deno.test({
  name: "agedb-dir on the real split: 12,208 train / 2,140 test, max bin 353 at age 35, min bin 1",
  ignore: !HAVE_REAL_AGEDB_SPLIT,
  async fn() {
    const split = await resolveSplitFile(AGEDB_SPLIT, "agedb-dir", {
      cache: "/nonexistent",
      split: REAL_AGEDB_SPLIT,
    });
    const counts = { train: 0, val: 0, test: 0 };
    const hist = new Array<number>(102).fill(0);
    for (const r of split.rows) {
      counts[r.split]++;
      if (r.split === "train") hist[r.age]++;
    }
    assert.deepEqual(counts, { train: 12_208, val: 2_140, test: 2_140 });
    assert.deepEqual(AGEDB_COUNTS, { train: 12_208, test: 2_140 });
    const max = Math.max(...hist);
    assert.equal(max, 353);
    assert.equal(hist.indexOf(max), 35);
    const nonEmpty = hist.flatMap((c, age) => (c > 0 ? [[age, c]] : []));
    assert.equal(Math.min(...nonEmpty.map(([, c]) => c)), 1);
    assert.deepEqual(nonEmpty.filter(([, c]) => c === 1).map(([age]) => age), [1, 97, 99, 101]);
    assert.deepEqual(hist, AGEDB_DIR_TRAIN_COUNTS);

    // The official adapter on the real split, with a handful of images (two garbled names among them).
    await withTempDir("agedb-real-", async (dir) => {
      const names = [
        "AgeDB/11706_OliviaHussey_31_f.jpg",
        "AgeDB/12853_MylèneDemongeot_30_f.jpg",
        "AgeDB/15872_StéphaneAudran_44_f.jpg",
        "AgeDB/16107_DannyGlover_8_m.jpg",
      ];
      const zip = join(dir, "AgeDB.zip");
      await Deno.writeFile(
        zip,
        await makeZip(await Promise.all(names.map(async (name, i) => ({ name, data: await tinyJpeg(i) })))),
      );
      const out = join(dir, "prepared");
      const result = await prepareDataset(agedbDir, {
        out,
        quiet: true,
        images: { maxSide: 16 },
        load: { cache: join(dir, "cache"), from: zip, split: REAL_AGEDB_SPLIT, sizes: {}, log },
      });
      const ds = await readPreparedDataset(out);
      assert.deepEqual(ds.train.samples.map((s) => s.id), ["agedb-11706", "agedb-12853"]);
      assert.deepEqual(ds.test.samples.map((s) => s.id).sort(), ["agedb-15872", "agedb-16107"]);
      assert.equal(result.dropped.length, 12_208 + 2_140 - 4);
      assert.ok(result.dropped.every((d) => d.reason === "image missing (no AgeDB file with this id)"));
      assert.equal(ds.manifest.label.max, 101);
    });
  },
});
