import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { type FixtureFile, makeZip, tinyJpeg, writeTree } from "./_raw_fixtures.ts";
import type { LoadContext } from "./adapter.ts";
import { readPreparedDataset } from "./format.ts";
import { fetchImdbMovie, imdbMovieDir, indexMovieFiles, movieLabel } from "./imdb_movie.ts";
import { prepareDataset } from "./prepare.ts";
import { withTempDir } from "../tasks/_testing.ts";

/** Latin-1 bytes of a string whose characters are all ≤ U+00FF. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => {
    const code = ch.charCodeAt(0);
    if (code > 0xff) throw new Error(`not latin-1: ${ch}`);
    return code;
  });
}

const HEADER = "imdbId,Imdb Link,Title,IMDB Score,Genre,Poster";
const line = (id: number, title: string, score: string, genre = "Drama") =>
  `${id},http://www.imdb.com/title/tt${id},${title},${score},${genre},https://images-na.ssl-images-amazon.com/images/M/${id}._V1_.jpg`;

/**
 * MovieGenre.csv as on Kaggle (latin-1, CRLF): label 73 ×6, 55 ×3, 81 ×1 usable; 401 and 402 have no
 * readable score, 501 no poster, and 101 appears twice.
 */
const CSV = latin1(
  [
    HEADER,
    line(101, '"Lord of the Rings, The (2001)"', "7.3", "Adventure|Drama|Fantasy"),
    line(102, "L'enl\u00cc\u00acvement (1990)", "7.3"), // mojibake already in the source
    ...[103, 104, 105, 106].map((id) => line(id, `Movie ${id} (2000)`, "7.3")),
    ...[201, 202, 203].map((id) => line(id, `Movie ${id} (2001)`, "5.5", "")),
    line(301, "Movie 301 (1999)", "8.1"),
    line(401, "No Score (1980)", ""),
    line(402, "Bad Score (1981)", "N/A"),
    line(501, "No Poster (1982)", "6.0"),
    line(101, "Lord of the Rings again (2001)", "7.3"),
  ].join("\r\n") + "\r\n",
);

const USABLE = [101, 102, 103, 104, 105, 106, 201, 202, 203, 301];

/** The Kaggle copy's layout: CSV and posters in a folder, a sample folder, macOS junk, an unlisted poster. */
async function kaggleFiles(): Promise<FixtureFile[]> {
  const posters: FixtureFile[] = [];
  for (const id of [...USABLE, 999]) {
    posters.push({
      name: `moviepostersimdb/posters/${id}.jpg`,
      data: id === 203 ? "this is not a JPEG" : await tinyJpeg(id, 24),
    });
  }
  return [
    { name: "moviepostersimdb/MovieGenre.csv", data: CSV },
    ...posters,
    { name: "moviepostersimdb/SampleMoviePosters/101.jpg", data: await tinyJpeg(7, 24) },
    { name: "__MACOSX/moviepostersimdb/posters/._501.jpg", data: "resource fork" },
    { name: "moviepostersimdb/readme.txt", data: "not data" },
  ];
}

const loadCtx = (cache: string, extra: Partial<LoadContext> = {}): LoadContext => ({
  cache,
  seed: 0,
  sizes: {},
  log: () => {},
  ...extra,
});

Deno.test("imdb-movie-dir: fetch without --from says where to get the data and what to pass", async () => {
  await assert.rejects(
    () => imdbMovieDir.fetch!({ cache: "/nonexistent", log: () => {} }),
    (err) => {
      assert.ok(err instanceof InputError);
      for (
        const needle of [
          "https://www.kaggle.com/datasets/neha1703/movie-genre-from-its-poster",
          "https://www.kaggle.com/datasets/getaolga/moviepostersimdb",
          "Kaggle account",
          "most of those links are dead",
          "<imdbId>.jpg",
          "deno task fetch imdb-movie-dir --from",
        ]
      ) assert.ok(err.message.includes(needle), `message lacks ${needle}:\n${err.message}`);
      return true;
    },
  );
});

Deno.test("imdb-movie-dir: fetch --from a Kaggle zip, then prepare end to end", async () => {
  await withTempDir("dirbench-imdb-movie-", async (dir) => {
    const zip = join(dir, "moviepostersimdb.zip");
    await Deno.writeFile(zip, await makeZip(await kaggleFiles()));
    const cache = join(dir, "cache");
    const logs: string[] = [];
    await fetchImdbMovie({ cache, from: zip, log: (m) => logs.push(m) }, { quiet: true });
    // Only the CSV and posters are imported, at their archive paths; junk and other files are not.
    const index = await indexMovieFiles(join(cache, "imdb-movie-dir"));
    assert.equal(index.csv, "moviepostersimdb/MovieGenre.csv");
    assert.equal(index.posters.size, 11);
    // Same depth, so the smaller path wins ("S" < "p" in code-unit order).
    assert.equal(index.posters.get("101"), "moviepostersimdb/SampleMoviePosters/101.jpg");
    assert.equal(index.duplicatePosters, 1);
    await assert.rejects(() => Deno.stat(join(cache, "imdb-movie-dir/moviepostersimdb/readme.txt")));
    assert.match(logs.join("\n"), /11 posters, 1 duplicate poster files ignored/);

    const out = join(dir, "out");
    const result = await prepareDataset(imdbMovieDir, {
      out,
      quiet: true,
      images: { maxSide: 16 },
      load: { cache, sizes: {}, log: () => {} },
    });
    const ds = await readPreparedDataset(out);
    assert.equal(ds.manifest.id, "imdb-movie-dir");
    // 10 usable rows: label 55 gives ⌊3/3⌋ = 1 to test, 73 gives 2, 81 gives 0; then 203's poster is corrupt.
    const all = [...ds.train.samples, ...ds.test.samples];
    assert.equal(all.length, 9);
    assert.ok(!all.some((s) => s.id === "movie-203"));
    const corruptSplit = result.dropped.find((d) => d.id === "movie-203")!.split;
    assert.equal(ds.test.samples.length, corruptSplit === "test" ? 2 : 3);
    assert.deepEqual(
      ds.test.samples.map((s) => s.label).filter((l) => l === 73),
      [73, 73],
    );
    assert.ok(ds.train.samples.some((s) => s.id === "movie-301" && s.label === 81));
    assert.deepEqual(
      result.dropped.map((d) => [d.id, d.reason.split(" ")[0]]).sort(),
      [
        ["movie-101", "duplicate"],
        ["movie-203", "unreadable"],
        ["movie-401", "IMDB"],
        ["movie-402", "IMDB"],
        ["movie-501", "no"],
      ],
    );
    const byId = new Map(all.map((s) => [s.id, s]));
    assert.equal(byId.get("movie-101")!.title, "Lord of the Rings, The (2001)");
    assert.equal(byId.get("movie-101")!.genre, "Adventure|Drama|Fantasy");
    assert.equal(byId.get("movie-102")!.title, "L'enl\u00cc\u00acvement (1990)");
    assert.equal(byId.get("movie-102")!.score, 7.3);
    assert.equal(byId.get("movie-102")!.imdbId, 102);
    assert.ok(all.every((s) => s.width === 16 && s.height === 16));
    const card = await Deno.readTextFile(join(out, "card.md"));
    assert.match(card, /round\(IMDb score × 10\)/);
    assert.match(card, /random\.seed\(666\)/);
    assert.match(card, /10 usable; dropped 2 without a score, 1 without a poster, 1 duplicates/);
    assert.deepEqual((ds.manifest.inputs as { name: string }[])[0].name, "MovieGenre.csv");
  });
});

Deno.test("imdb-movie-dir: prepare --from a folder reads it in place, the same as an import", async () => {
  await withTempDir("dirbench-imdb-movie-", async (dir) => {
    const files = await kaggleFiles();
    await writeTree(join(dir, "kaggle"), files);
    const direct = await imdbMovieDir.load(loadCtx(join(dir, "empty-cache"), { from: join(dir, "kaggle") }));
    await Deno.writeFile(join(dir, "k.zip"), await makeZip(files));
    const cache = join(dir, "cache");
    await fetchImdbMovie({ cache, from: join(dir, "k.zip"), log: () => {} }, { quiet: true });
    // A second import replaces the first.
    await fetchImdbMovie({ cache, from: join(dir, "kaggle"), log: () => {} }, { quiet: true });
    const imported = await imdbMovieDir.load(loadCtx(cache));
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
    assert.deepEqual(ids(direct.train), ids(imported.train));
    assert.deepEqual(ids(direct.test), ids(imported.test));
    assert.equal(direct.test.length, 3);
    assert.equal(direct.train.length, 7);
    assert.deepEqual(direct.inputs[0], imported.inputs[0]);
    // Another seed, another draw of the same sizes.
    const other = await imdbMovieDir.load(loadCtx(cache, { seed: 5 }));
    assert.equal(other.test.length, 3);
  });
});

Deno.test("imdb-movie-dir: missing data, archives given to prepare, and fixed-protocol flags are InputErrors", async () => {
  await withTempDir("dirbench-imdb-movie-", async (dir) => {
    await assert.rejects(
      () => imdbMovieDir.load(loadCtx(dir)),
      (e) => e instanceof InputError && /not been fetched/.test(e.message),
    );
    await Deno.writeFile(join(dir, "k.zip"), await makeZip([{ name: "MovieGenre.csv", data: CSV }]));
    await assert.rejects(
      () => imdbMovieDir.load(loadCtx(dir, { from: join(dir, "k.zip") })),
      (e) => e instanceof InputError && /deno task fetch imdb-movie-dir --from/.test(e.message),
    );
    await assert.rejects(
      () =>
        fetchImdbMovie({ cache: join(dir, "c"), from: join(dir, "k.zip"), log: () => {} }, { quiet: true }),
      (e) => e instanceof InputError && /no posters/.test(e.message),
    );
    await assert.rejects(
      () => imdbMovieDir.load(loadCtx(dir, { sizes: { test: 10 } })),
      (e) => e instanceof InputError && /fixed protocol/.test(e.message),
    );
  });
});

Deno.test("imdb-movie-dir: malformed CSV rows are InputErrors naming the file and line", async () => {
  await withTempDir("dirbench-imdb-movie-", async (dir) => {
    const poster = await tinyJpeg(1);
    const cases: [string, RegExp][] = [
      [
        `${HEADER}\n${line(101, "A", "7.3")}\ntt102,x,B,7.1,Drama,u\n`,
        /MovieGenre\.csv:3: imdbId must be a whole number/,
      ],
      [
        `${HEADER}\n${line(101, "A", "7.3")}\n102,x,"B, unterminated,7.1,Drama,u\n`,
        /MovieGenre\.csv:\d+: malformed CSV/,
      ],
      [`${HEADER}\n${line(101, "A", "7.3")}\n102,x,B,7.1\n`, /MovieGenre\.csv:3: expected 6 fields/],
      [`imdbId,Title\n101,A\n`, /MovieGenre\.csv:1: missing column "IMDB Score"/],
    ];
    for (const [k, [text, re]] of cases.entries()) {
      const root = join(dir, `case${k}`);
      await writeTree(root, [{ name: "MovieGenre.csv", data: latin1(text) }, {
        name: "101.jpg",
        data: poster,
      }]);
      await assert.rejects(
        () => imdbMovieDir.load(loadCtx(dir, { from: root })),
        (e) => e instanceof InputError && re.test(e.message),
        `case ${k}`,
      );
    }
  });
});

Deno.test("movieLabel: round(score × 10) with ties to even, as Python", () => {
  assert.equal(movieLabel(8.3), 83);
  assert.equal(movieLabel(0), 0);
  assert.equal(movieLabel(10), 100);
  assert.equal(movieLabel(1.1), 11);
  assert.equal(movieLabel(7.25), 72); // 72.5 → 72
  assert.equal(movieLabel(7.75), 78); // 77.5 → 78
  for (let k = 0; k <= 100; k++) assert.equal(movieLabel(Number((k / 10).toFixed(1))), k);
});
