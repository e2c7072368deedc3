import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import { withTempDir } from "../tasks/_testing.ts";
import {
  AGEDB_SPLIT,
  DIR_SPLITS_COMMIT,
  IMDB_WIKI_SPLIT,
  parseDirSplit,
  resolveSplitFile,
  splitCachePath,
} from "./dir_split.ts";
import { gitBlobSha1 } from "./fetch.ts";
import { HAVE_REAL_AGEDB_SPLIT, REAL_AGEDB_SPLIT } from "./_raw_fixtures.ts";

function rejectsAt(fn: () => unknown, line: number, pattern: RegExp) {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof InputError, String(err));
    assert.equal(err.location?.line, line, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("parseDirSplit reads the official format and reports bad rows with file and line", () => {
  const rows = parseDirSplit(
    "\uFEFFage,path,split\r\n31,AgeDB/11706_OliviaHussey_31_f.jpg,train\r\n59,AgeDB/1,2_x_59_f.jpg,val\n\n",
    "s.csv",
  );
  assert.deepEqual(rows, [
    { line: 2, age: 31, path: "AgeDB/11706_OliviaHussey_31_f.jpg", split: "train" },
    { line: 3, age: 59, path: "AgeDB/1,2_x_59_f.jpg", split: "val" },
  ]);
  rejectsAt(() => parseDirSplit("age,split,path\n1,a,train\n", "s.csv"), 1, /s\.csv:1: expected the header/);
  rejectsAt(() => parseDirSplit("age,path,split\n1,a,train\nx,b,test\n", "s.csv"), 3, /age must be/);
  rejectsAt(() => parseDirSplit("age,path,split\n-1,b,test\n", "s.csv"), 2, /age must be/);
  rejectsAt(() => parseDirSplit("age,path,split\n1,b,dev\n", "s.csv"), 2, /split must be train, val or test/);
  rejectsAt(() => parseDirSplit("age,path,split\n1,b\n", "s.csv"), 2, /three fields/);
  rejectsAt(() => parseDirSplit("age,path,split\n1, ,test\n", "s.csv"), 2, /empty path/);
  assert.throws(() => parseDirSplit("age,path,split\n", "s.csv"), /no rows/);
});

Deno.test("the pinned split sources point at the commit, with the researched hashes", () => {
  assert.equal(DIR_SPLITS_COMMIT, "a6fdc45d45c04e6f5c40f43925bc66e580911084");
  assert.equal(
    AGEDB_SPLIT.url,
    `https://raw.githubusercontent.com/YyzHarry/imbalanced-regression/${DIR_SPLITS_COMMIT}/agedb-dir/data/agedb.csv`,
  );
  assert.equal(AGEDB_SPLIT.gitBlobSha1, "78abfdb939ff5cf68672cf11ee9b84a0eb9e990a");
  assert.equal(AGEDB_SPLIT.sha256, "ab9f8d4c7099a9d74ec5094c42b6fe9f1927a166a48d2ab800a88b2fd6081252");
  assert.equal(
    IMDB_WIKI_SPLIT.url,
    `https://raw.githubusercontent.com/YyzHarry/imbalanced-regression/${DIR_SPLITS_COMMIT}/imdb-wiki-dir/data/imdb_wiki.csv`,
  );
  assert.equal(IMDB_WIKI_SPLIT.gitBlobSha1, "c1512e3da0de9076a0793b982c9a74cd872c0d8b");
});

Deno.test("resolveSplitFile: --split is hash-checked, the cache is used, and a missing file says what to run", async () => {
  await withTempDir("split-", async (dir) => {
    const text = "age,path,split\n30,AgeDB/1_A_30_m.jpg,train\n40,AgeDB/2_B_40_f.jpg,test\n";
    const bytes = new TextEncoder().encode(text);
    const spec = {
      name: "agedb.csv",
      url: "http://127.0.0.1:9/agedb.csv",
      gitBlobSha1: await gitBlobSha1(bytes),
      sha256: await sha256Hex(bytes),
    };
    const local = join(dir, "mine.csv");
    await Deno.writeFile(local, bytes);
    const viaFlag = await resolveSplitFile(spec, "agedb-dir", { cache: join(dir, "cache"), split: local });
    assert.equal(viaFlag.path, local);
    assert.equal(viaFlag.rows.length, 2);
    assert.equal(viaFlag.sha256, spec.sha256);

    // A changed byte: refused, naming the file and both hashes.
    await Deno.writeTextFile(local, text.replace("30,", "31,"));
    await assert.rejects(
      () => resolveSplitFile(spec, "agedb-dir", { cache: join(dir, "cache"), split: local }),
      (err: Error) => {
        assert.ok(err instanceof InputError);
        assert.match(
          err.message,
          /mine\.csv: is not the official agedb\.csv \(git blob SHA-1 [0-9a-f]{40}, expected/,
        );
        assert.ok(err.message.includes(spec.gitBlobSha1));
        return true;
      },
    );

    const cache = join(dir, "cache");
    await assert.rejects(
      () => resolveSplitFile(spec, "agedb-dir", { cache }),
      /run `deno task fetch agedb-dir` first, or pass a local copy with --split <csv>/,
    );
    await assert.rejects(
      () => resolveSplitFile(spec, "agedb-dir", { cache, split: join(dir, "nope.csv") }),
      /nope\.csv: split file not found/,
    );
    await Deno.mkdir(join(cache, "agedb-dir"), { recursive: true });
    await Deno.writeFile(splitCachePath(cache, "agedb-dir", spec), bytes);
    assert.equal((await resolveSplitFile(spec, "agedb-dir", { cache })).rows[1].age, 40);
  });
});

Deno.test({
  name: "the real AgeDB-DIR split file verifies and parses (16,488 rows, ids 0..16487, 131 garbled names)",
  ignore: !HAVE_REAL_AGEDB_SPLIT,
  async fn() {
    const split = await resolveSplitFile(AGEDB_SPLIT, "agedb-dir", {
      cache: "/nonexistent",
      split: REAL_AGEDB_SPLIT,
    });
    assert.equal(split.rows.length, 16_488);
    const ids = split.rows.map((r) => Number(/^AgeDB\/(\d+)_/.exec(r.path)![1]));
    assert.deepEqual([...new Set(ids)].sort((a, b) => a - b), Array.from({ length: 16_488 }, (_, i) => i));
    assert.equal(split.rows.filter((r) => /[\u0400-\u04FF]/.test(r.path)).length, 131);
  },
});
