import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { exists, withTempDir } from "../tasks/_testing.ts";
import { gitBlobSha1, md5Hex, type RemoteFile } from "./fetch.ts";
import { readPreparedDataset } from "./format.ts";
import {
  allocateWithMinimum,
  createImdbWikiAdapter,
  downsampleByBin,
  IMDB_WIKI_TRAIN_SIZE,
  imdbWikiCacheDir,
  type ImdbWikiPart,
  imdbWikiSampleId,
} from "./imdb_wiki.ts";
import { prepareDataset } from "./prepare.ts";
import { type FixtureFile, makeTar, serveFiles, tinyJpeg, writeTree } from "./_raw_fixtures.ts";

/** An IMDB-WIKI-like train histogram over ages 0..186: a peak near 30 and a long tail of 1s and 2s. */
function syntheticHistogram(): number[] {
  return Array.from({ length: 187 }, (_, age) => {
    if (age === 2 || age === 140) return 0;
    if (age > 100) return age % 4 === 0 ? 2 : age % 4 === 1 ? 1 : 0;
    return Math.max(1, Math.round(7149 * Math.exp(-(((age - 32) / 14) ** 2))));
  });
}

Deno.test("allocateWithMinimum: exact total, one per non-empty bin, shape kept within 1 of proportional", () => {
  const counts = syntheticHistogram();
  const sum = counts.reduce((a, b) => a + b, 0);
  const total = Math.round((sum * IMDB_WIKI_TRAIN_SIZE) / 191_509);
  const alloc = allocateWithMinimum(counts, total);
  assert.equal(alloc.reduce((a, b) => a + b, 0), total);
  counts.forEach((c, b) => {
    if (c === 0) return assert.equal(alloc[b], 0);
    assert.ok(alloc[b] >= 1 && alloc[b] <= c, `bin ${b}: ${alloc[b]} of ${c}`);
    const share = (total * c) / sum;
    assert.ok(Math.abs(alloc[b] - share) < 1, `bin ${b}: ${alloc[b]} vs proportional ${share.toFixed(2)}`);
  });
  // The shape: a bin with more samples never gets fewer.
  for (let a = 0; a < counts.length; a++) {
    for (let b = 0; b < counts.length; b++) {
      if (counts[a] > counts[b]) assert.ok(alloc[a] >= alloc[b], `bins ${a} and ${b}`);
    }
  }
  assert.deepEqual(allocateWithMinimum([5, 0, 5], 4), [2, 0, 2]);
  assert.deepEqual(allocateWithMinimum([1, 1, 98], 3), [1, 1, 1]);
  assert.deepEqual(allocateWithMinimum([1, 2, 97], 10), [1, 1, 8]);
  assert.deepEqual(allocateWithMinimum([3, 7], 10), [3, 7]);
  // A tail so long that the minimums cost more than rounding frees: the shares of the bins above the
  // minimum shrink by a common factor, so they stay proportional to each other (and within a hair of
  // the plain share).
  const heavy = counts.map((c, age) => (age > 100 ? 1 + (age % 2) : c));
  const heavySum = heavy.reduce((a, b) => a + b, 0);
  const heavyAlloc = allocateWithMinimum(heavy, total);
  assert.equal(heavyAlloc.reduce((a, b) => a + b, 0), total);
  heavy.forEach((c, b) => {
    if (c === 0) return;
    const share = (total * c) / heavySum;
    assert.ok(heavyAlloc[b] >= 1 && Math.abs(heavyAlloc[b] - share) < 1 + 0.002 * share, `bin ${b}`);
  });
  // Too many bins below a share of 1 for rounding to pay for: the big bin gives the units back.
  const crowded = allocateWithMinimum([...Array(50).fill(1), 100], 55);
  assert.deepEqual(crowded, [...Array(50).fill(1), 5]);
  assert.throws(() => allocateWithMinimum([1, 1, 1], 2), RangeError);
  assert.throws(() => allocateWithMinimum([1, 1, 1], 4), RangeError);
});

Deno.test("downsampleByBin: per-bin counts as allocated, input order kept, deterministic per seed", () => {
  const counts = syntheticHistogram().slice(0, 90);
  const rows = counts.flatMap((c, age) => Array.from({ length: c }, (_, k) => ({ age, k })));
  // Shuffle the input so that file order differs from bin order.
  rows.sort((a, b) => ((a.k * 7919 + a.age * 104729) % 1009) - ((b.k * 7919 + b.age * 104729) % 1009));
  const total = 5_000;
  const a = downsampleByBin(rows, (r) => r.age, total, 0);
  assert.equal(a.length, total);
  const alloc = allocateWithMinimum(counts.filter((c) => c > 0), total);
  const got = new Map<number, number>();
  for (const r of a) got.set(r.age, (got.get(r.age) ?? 0) + 1);
  assert.deepEqual(
    [...got.entries()].sort((x, y) => x[0] - y[0]).map(([, n]) => n),
    alloc.filter((n) => n > 0),
  );
  const position = new Map(rows.map((r, i) => [r, i]));
  for (let i = 1; i < a.length; i++) assert.ok(position.get(a[i - 1])! < position.get(a[i])!);
  assert.deepEqual(downsampleByBin(rows, (r) => r.age, total, 0), a);
  const b = downsampleByBin(rows, (r) => r.age, total, 1);
  assert.notDeepEqual(b, a);
  assert.equal(b.length, total);
});

Deno.test("imdbWikiSampleId makes path-safe, unique ids from split paths", () => {
  assert.equal(
    imdbWikiSampleId("imdb_crop/01/nm0000001_rm946909184_1899-5-10_1968.jpg"),
    "imdb-01-nm0000001_rm946909184_1899-5-10_1968",
  );
  assert.equal(imdbWikiSampleId("wiki_crop/80/999980_1954-06-11_2008.jpg"), "wiki-80-999980_1954-06-11_2008");
  assert.equal(imdbWikiSampleId("wiki_crop/80/a b+c.jpg"), "wiki-80-a_b_c");
});

/** One split row of the fixture, and what its image file holds. */
interface Row {
  age: number;
  path: string;
  split: "train" | "val" | "test";
  image: "jpeg" | "missing" | "empty" | "corrupt";
}

/** A small IMDB-WIKI-DIR: 23 train rows over 5 ages, 2 val, 5 test; imdb rows first, as in the real file. */
function fixtureRows(): Row[] {
  const rows: Row[] = [];
  const add = (age: number, split: Row["split"], image: Row["image"] = "jpeg") => {
    const k = rows.length;
    const year = 1950 + age;
    const path = k % 3 === 2
      ? `wiki_crop/${String(k).padStart(2, "0")}/${99000 + k}_1950-06-11_${year}.jpg`
      : `imdb_crop/${String(k % 100).padStart(2, "0")}/nm00000${k}_rm9469${k}_1950-5-10_${year}.jpg`;
    rows.push({ age, path, split, image });
  };
  for (let i = 0; i < 12; i++) add(30, "train");
  for (let i = 0; i < 6; i++) add(40, "train");
  for (let i = 0; i < 3; i++) add(50, "train");
  add(90, "train");
  add(150, "train", "empty"); // alone in its bin, so always drawn
  add(30, "val");
  add(40, "val");
  add(30, "test");
  add(40, "test");
  add(50, "test", "missing");
  add(90, "test", "corrupt");
  add(30, "test");
  // The real file lists all imdb rows, then all wiki rows.
  return [...rows.filter((r) => r.path.startsWith("imdb")), ...rows.filter((r) => r.path.startsWith("wiki"))];
}

function splitCsv(rows: readonly Row[]): string {
  return ["age,path,split", ...rows.map((r) => `${r.age},${r.path},${r.split}`), ""].join("\n");
}

async function imageFiles(rows: readonly Row[]): Promise<FixtureFile[]> {
  const files: FixtureFile[] = [];
  for (const [i, r] of rows.entries()) {
    if (r.image === "missing") continue;
    const data = r.image === "jpeg"
      ? await tinyJpeg(i)
      : r.image === "empty"
      ? new Uint8Array()
      : new TextEncoder().encode("not a jpeg");
    files.push({ name: r.path, data });
  }
  return files;
}

/** The fixture's split and tars, served on loopback, and the adapter pinned to them. */
async function fixture(rows: readonly Row[]) {
  const csv = new TextEncoder().encode(splitCsv(rows));
  const files = await imageFiles(rows);
  const tars = {} as Record<ImdbWikiPart, Uint8Array>;
  for (const part of ["imdb_crop", "wiki_crop"] as const) {
    const mine = files.filter((f) => f.name.startsWith(`${part}/`));
    // The real tars also hold the .mat metadata, which dirbench does not need.
    tars[part] = await makeTar([...mine, { name: `${part}/${part.slice(0, 4)}.mat`, data: "MATLAB 5.0" }]);
  }
  const server = serveFiles({
    "imdb_wiki.csv": csv,
    "imdb_crop.tar": tars.imdb_crop,
    "wiki_crop.tar": tars.wiki_crop,
  });
  const split: RemoteFile = {
    name: "imdb_wiki.csv",
    url: server.url("imdb_wiki.csv"),
    gitBlobSha1: await gitBlobSha1(csv),
  };
  const pinnedTars = {
    imdb_crop: { name: "imdb_crop.tar", url: server.url("imdb_crop.tar"), md5: md5Hex(tars.imdb_crop) },
    wiki_crop: { name: "wiki_crop.tar", url: server.url("wiki_crop.tar"), md5: md5Hex(tars.wiki_crop) },
  };
  return { server, files, tars, adapter: createImdbWikiAdapter({ split, tars: pinnedTars }) };
}

const log = (_: string) => {};
/** A context with the `quiet` flag that `deno task fetch --quiet` adds. */
const quietly = <T extends object>(ctx: T): T => Object.assign(ctx, { quiet: true });

Deno.test("imdb-wiki-dir: fetch --from a folder of tars (MD5-checked), then prepare with --train", async () => {
  const rows = fixtureRows();
  const { server, tars, adapter } = await fixture(rows);
  try {
    await withTempDir("imdbwiki-", async (dir) => {
      const from = join(dir, "downloads");
      await Deno.mkdir(from);
      await Deno.writeFile(join(from, "imdb_crop.tar"), tars.imdb_crop);
      await Deno.writeFile(join(from, "wiki_crop.tar"), tars.wiki_crop);
      const cache = join(dir, "cache");
      await adapter.fetch!(quietly({ cache, from, log }));
      assert.deepEqual(server.requests, ["imdb_wiki.csv"]);
      const cacheDir = imdbWikiCacheDir(cache);
      assert.equal(await exists(join(cacheDir, rows[0].path)), true);
      assert.equal(await exists(join(cacheDir, "imdb_crop", "imdb.mat")), false, "only images are kept");
      assert.deepEqual((await listNames(cacheDir)).sort(), ["imdb_crop", "imdb_wiki.csv", "wiki_crop"]);

      const out = join(dir, "prepared");
      const result = await prepareDataset(adapter, {
        out,
        quiet: true,
        images: { maxSide: 16 },
        load: { cache, sizes: { train: 10 }, log },
      });
      // 10 drawn: ages 90 and 150 (shares below 1) keep 1, the other 8 go 5/2/1 to ages 30/40/50 (shares
      // 4.57, 2.29, 1.14; the leftover unit by largest remainder). The age-150 image is empty. Test: 5
      // rows, one image missing, one corrupt.
      assert.equal(result.manifest.splits.train.count, 9);
      assert.equal(result.manifest.splits.test.count, 3);
      const reasons = result.dropped.map((d) => `${d.split}: ${d.reason}`).sort();
      assert.equal(reasons.length, 3);
      assert.equal(reasons[0], "test: image missing");
      assert.match(reasons[1], /^test: unreadable image/);
      assert.equal(reasons[2], "train: empty image file");
      const ds = await readPreparedDataset(out);
      const trainAges = ds.train.samples.map((s) => s.label).sort((a, b) => a - b);
      assert.deepEqual(trainAges, [30, 30, 30, 30, 30, 40, 40, 50, 90]);
      assert.ok(ds.train.samples.every((s) => typeof s.sourcePath === "string"));
      assert.equal(ds.manifest.label.max, 200);
      const card = await Deno.readTextFile(join(out, "card.md"));
      assert.match(card, /largest fractional parts/);
      assert.match(card, /11,016/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("imdb-wiki-dir: fetch downloads and extracts the tars; prepare reads extracted folders in place", async () => {
  const rows = fixtureRows();
  const { server, files, adapter } = await fixture(rows);
  try {
    await withTempDir("imdbwiki-", async (dir) => {
      const cache = join(dir, "cache");
      await adapter.fetch!(quietly({ cache, log }));
      assert.deepEqual(server.requests, ["imdb_wiki.csv", "imdb_crop.tar", "wiki_crop.tar"]);
      const cacheDir = imdbWikiCacheDir(cache);
      assert.deepEqual((await listNames(cacheDir)).sort(), ["imdb_crop", "imdb_wiki.csv", "wiki_crop"]);
      await adapter.fetch!(quietly({ cache, log }));
      assert.equal(server.requests.length, 3, "a second fetch downloads nothing");

      // A folder holding the extracted trees is read where it is.
      const tree = join(dir, "raw");
      await writeTree(tree, files);
      const split = join(imdbWikiCacheDir(cache), "imdb_wiki.csv");
      const loaded = await adapter.load(
        quietly({ cache: join(dir, "other"), from: tree, split, seed: 3, sizes: { train: 23 }, log }),
      );
      assert.equal(loaded.train.length + loaded.dropped.filter((d) => d.split === "train").length, 23);
      assert.ok((loaded.test[0].image as { path: string }).path.startsWith(tree));
      assert.equal(await exists(join(dir, "other")), false);
    });
  } finally {
    await server.close();
  }
});

Deno.test("imdb-wiki-dir: bad sizes, a bad --from and a wrong tar are clear InputErrors", async () => {
  const rows = fixtureRows();
  const { server, tars, adapter } = await fixture(rows);
  try {
    await withTempDir("imdbwiki-", async (dir) => {
      const cache = join(dir, "cache");
      const ctx = (sizes: { train?: number; test?: number }, from?: string) =>
        quietly({ cache, from, seed: 0, sizes, log });
      await assert.rejects(() => adapter.load(ctx({})), /run `deno task fetch imdb-wiki-dir`/);
      await adapter.fetch!(quietly({ cache, log }));
      await assert.rejects(() => adapter.load(ctx({ test: 5 })), /--test does not apply/);
      await assert.rejects(() => adapter.load(ctx({ train: 24 })), /--train must be between 5 .* and 23/);
      await assert.rejects(() => adapter.load(ctx({ train: 4 })), /--train must be between 5/);
      const file = join(dir, "imdb_crop.tar");
      await Deno.writeFile(file, tars.imdb_crop);
      await assert.rejects(() => adapter.load(ctx({ train: 10 }, file)), /--from must be a directory/);

      const from = join(dir, "wrong");
      await Deno.mkdir(from);
      await Deno.writeFile(join(from, "imdb_crop.tar"), tars.wiki_crop);
      const fresh = join(dir, "fresh");
      await assert.rejects(() => adapter.fetch!(quietly({ cache: fresh, from, log })), (err: Error) => {
        assert.ok(err instanceof InputError);
        assert.match(
          err.message,
          /imdb_crop\.tar: is not the official imdb_crop\.tar \(MD5 [0-9a-f]{32}, expected/,
        );
        return true;
      });
      assert.equal(await exists(join(imdbWikiCacheDir(fresh), "imdb_crop")), false);
    });
  } finally {
    await server.close();
  }
});

async function listNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names;
}
