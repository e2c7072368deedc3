import assert from "node:assert/strict";
import { join } from "node:path";
import { HAVE_REAL_AGEDB_SPLIT, makeZip, REAL_AGEDB_SPLIT, tinyJpeg } from "../datasets/_raw_fixtures.ts";
import { assertRefused, exists, REPO_ROOT, type Run, runScript, withTempDir } from "./_testing.ts";

const SCRIPT = join(REPO_ROOT, "tasks", "fetch.ts");

/** Runs `deno task fetch` as the task does (same permissions), from the repository root. */
function fetchTask(args: readonly string[]): Promise<Run> {
  return runScript(SCRIPT, args, [
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "--allow-run",
  ]);
}

Deno.test("fetch: a generated dataset needs no fetch; usage errors exit 2", async () => {
  const synthetic = await fetchTask(["synthetic-dir"]);
  assert.equal(synthetic.code, 0, synthetic.stderr);
  assert.match(synthetic.stdout, /synthetic-dir needs no fetch/);
  assertRefused(await fetchTask([]), ["expected one dataset id, got 0", "usage: deno task fetch"], 2);
  assertRefused(await fetchTask(["nope"]), ['unknown dataset "nope"', "agedb-dir", "imdb-wiki-dir"], 2);
  assertRefused(await fetchTask(["agedb-dir", "--bogus"]), ["--bogus"], 2);
});

Deno.test("fetch: a bad --from is refused before anything is downloaded", async () => {
  await withTempDir("fetch-task-", async (dir) => {
    const file = join(dir, "imdb_crop.tar");
    await Deno.writeTextFile(file, "x");
    const cache = join(dir, "cache");
    assertRefused(await fetchTask(["imdb-wiki-dir", "--cache", cache, "--from", file]), [
      "--from must be a directory holding imdb_crop/ and wiki_crop/",
    ], 1);
    assertRefused(await fetchTask(["agedb-dir", "--cache", cache, "--from", join(dir, "missing.zip")]), [
      "missing.zip: not found",
    ], 1);
    assert.equal(await exists(cache), false);
  });
});

Deno.test({
  name: "fetch agedb-dir --from AgeDB.zip imports into <cache>/agedb-dir/, offline once the split is cached",
  ignore: !HAVE_REAL_AGEDB_SPLIT,
  async fn() {
    await withTempDir("fetch-task-", async (dir) => {
      // The real split file, already in the cache with the right hash, so nothing is downloaded.
      const cache = join(dir, "cache");
      await Deno.mkdir(join(cache, "agedb-dir"), { recursive: true });
      await Deno.copyFile(REAL_AGEDB_SPLIT, join(cache, "agedb-dir", "agedb.csv"));

      const noImages = await fetchTask(["agedb-dir", "--cache", cache, "--quiet"]);
      assertRefused(noImages, [
        "https://ibug.doc.ic.ac.uk/resources/agedb/",
        "password-protected",
        "deno task fetch agedb-dir --from AgeDB.zip",
      ], 1);

      const files = [
        { name: "AgeDB/11706_OliviaHussey_31_f.jpg", data: await tinyJpeg(1) },
        { name: "AgeDB/15872_StéphaneAudran_44_f.jpg", data: await tinyJpeg(2) },
      ];
      const locked = join(dir, "locked.zip");
      await Deno.writeFile(locked, await makeZip(files, { encrypted: true }));
      assertRefused(await fetchTask(["agedb-dir", "--cache", cache, "--from", locked, "--quiet"]), [
        "the zip is encrypted",
        "unzip -P <password> locked.zip -d <dir>",
      ], 1);

      const zip = join(dir, "AgeDB.zip");
      await Deno.writeFile(zip, await makeZip(files));
      const run = await fetchTask(["agedb-dir", "--cache", cache, "--from", zip, "--quiet"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`agedb-dir: raw data ready in ${join(cache, "agedb-dir")}`));
      assert.match(run.stderr, /imported 2 images/);
      assert.equal(
        await exists(join(cache, "agedb-dir", "images", "AgeDB", "15872_StéphaneAudran_44_f.jpg")),
        true,
      );

      const again = await fetchTask(["agedb-dir", "--cache", cache]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /images already imported/);
    });
  },
});
