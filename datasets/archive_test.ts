import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { exists, withTempDir } from "../tasks/_testing.ts";
import { makeTar, makeZip, writeTree } from "./_raw_fixtures.ts";
import { archiveKind, extractArchive, safeEntryPath, walkArchive } from "./archive.ts";

const FILES = [
  { name: "data/a.txt", data: "alpha\n" },
  { name: "data/sub/b.bin", data: new Uint8Array([0, 1, 2, 255]) },
  { name: "c.txt", data: "" },
];

async function listAll(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of walkArchive(path)) {
    const bytes = await e.read();
    assert.equal(bytes.byteLength, e.size, `size of ${e.path}`);
    out.set(e.path, Array.from(bytes).join(","));
  }
  return out;
}

function expected(): Map<string, string> {
  return new Map(
    FILES.map((f) => [
      f.name,
      Array.from(typeof f.data === "string" ? new TextEncoder().encode(f.data) : f.data).join(","),
    ]),
  );
}

const sorted = (m: Map<string, string>) => [...m.entries()].sort();

Deno.test("walkArchive reads zip, tar, tar.gz and a directory alike, detected by magic bytes", async () => {
  await withTempDir("archive-", async (dir) => {
    // Misleading extensions on purpose: detection must not look at the name.
    const zip = join(dir, "z.tar");
    const zip64 = join(dir, "z64.zip");
    const plainTar = join(dir, "t.zip");
    const tgz = join(dir, "t.bin");
    const tree = join(dir, "tree");
    await Deno.writeFile(zip, await makeZip(FILES));
    await Deno.writeFile(zip64, await makeZip(FILES, { zip64: true }));
    await Deno.writeFile(plainTar, await makeTar(FILES));
    await Deno.writeFile(tgz, await makeTar(FILES, { gzip: true }));
    await writeTree(tree, FILES);
    assert.equal(await archiveKind(zip), "zip");
    assert.equal(await archiveKind(plainTar), "tar");
    assert.equal(await archiveKind(tgz), "tar.gz");
    assert.equal(await archiveKind(tree), "dir");
    for (const path of [zip, zip64, plainTar, tgz, tree]) {
      assert.deepEqual(sorted(await listAll(path)), sorted(expected()), path);
    }
  });
});

Deno.test("walkArchive skips unread tar entries and reports unknown formats clearly", async () => {
  await withTempDir("archive-", async (dir) => {
    const t = join(dir, "t.tar");
    await Deno.writeFile(t, await makeTar(FILES));
    const seen: string[] = [];
    for await (const e of walkArchive(t)) {
      seen.push(e.path);
      if (e.path === "c.txt") assert.equal((await e.read()).byteLength, 0);
    }
    assert.deepEqual(seen, FILES.map((f) => f.name));
    const junk = join(dir, "junk.zip");
    await Deno.writeTextFile(junk, "not an archive at all");
    await assert.rejects(() => archiveKind(junk), (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /junk\.zip: is not a zip, tar or tar\.gz archive/);
      return true;
    });
    await assert.rejects(() => archiveKind(join(dir, "missing.zip")), /missing\.zip: not found/);
  });
});

Deno.test("zip names without the UTF-8 flag are decoded as CP437 (the AgeDB trap)", async () => {
  await withTempDir("archive-", async (dir) => {
    const zip = join(dir, "AgeDB.zip");
    await Deno.writeFile(zip, await makeZip([{ name: "AgeDB/15872_StéphaneAudran_44_f.jpg", data: "x" }]));
    // The raw bytes really are CP437: é is 0x82, and the UTF-8 flag is off.
    const bytes = await Deno.readFile(zip);
    assert.ok(bytes.includes(0x82));
    const paths: string[] = [];
    for await (const e of walkArchive(zip)) paths.push(e.path);
    assert.deepEqual(paths, ["AgeDB/15872_StéphaneAudran_44_f.jpg"]);
    const out = join(dir, "out");
    await extractArchive(zip, out, { quiet: true });
    assert.equal(await Deno.readTextFile(join(out, "AgeDB", "15872_StéphaneAudran_44_f.jpg")), "x");
  });
});

Deno.test("entries escaping the destination are rejected and nothing is extracted", async () => {
  await withTempDir("archive-", async (dir) => {
    const zip = join(dir, "evil.zip");
    await Deno.writeFile(
      zip,
      await makeZip([{ name: "ok.txt", data: "ok" }, { name: "../evil.txt", data: "x" }]),
    );
    const t = join(dir, "evil.tar");
    await Deno.writeFile(
      t,
      await makeTar([{ name: "ok.txt", data: "ok" }, { name: "a/../../evil.txt", data: "x" }]),
    );
    for (const archive of [zip, t]) {
      const out = join(dir, "out");
      await assert.rejects(() => extractArchive(archive, out, { quiet: true }), (err: Error) => {
        assert.ok(err instanceof InputError, String(err));
        assert.match(err.message, /unsafe entry/);
        return true;
      });
      assert.equal(await exists(out), false);
      assert.equal(await exists(join(dir, "evil.txt")), false);
    }
    assert.throws(() => safeEntryPath("/etc/passwd", "x.tar"), /absolute path/);
    assert.throws(() => safeEntryPath("C:\\Windows\\x", "x.zip"), /absolute path/);
    assert.throws(() => safeEntryPath("a\\..\\..\\x", "x.zip"), /escape/);
    assert.equal(safeEntryPath("./a//b/./c.jpg", "x.tar"), "a/b/c.jpg");
    assert.equal(safeEntryPath("./", "x.tar"), null);
    // Leftover temporary directories would be a partial extraction in disguise.
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), ["evil.tar", "evil.zip"]);
  });
});

Deno.test("an encrypted zip entry gives an InputError telling the user to extract it and pass --from", async () => {
  await withTempDir("archive-", async (dir) => {
    const zip = join(dir, "AgeDB.zip");
    await Deno.writeFile(
      zip,
      await makeZip([{ name: "AgeDB/1_A_30_m.jpg", data: "x" }], { encrypted: true }),
    );
    const out = join(dir, "out");
    await assert.rejects(() => extractArchive(zip, out, { quiet: true }), (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /AgeDB\.zip: the zip is encrypted/);
      assert.match(err.message, /unzip -P <password> AgeDB\.zip -d <dir>/);
      assert.match(err.message, /--from/);
      return true;
    });
    assert.equal(await exists(out), false);
  });
});

Deno.test("extractArchive filters, counts, and is atomic: a failure half way leaves no dest", async () => {
  await withTempDir("archive-", async (dir) => {
    const t = join(dir, "t.tgz");
    await Deno.writeFile(t, await makeTar(FILES, { gzip: true }));
    const out = join(dir, "deep", "out");
    const result = await extractArchive(t, out, { filter: (p) => p.startsWith("data/"), quiet: true });
    assert.deepEqual(result, { files: 2, bytes: 10 });
    assert.equal(await Deno.readTextFile(join(out, "data", "a.txt")), "alpha\n");
    assert.equal(await exists(join(out, "c.txt")), false);
    await assert.rejects(() => extractArchive(t, out, { quiet: true }), /already exists/);

    // A truncated archive fails after some entries were written: dest must still not appear.
    const whole = await makeTar([
      { name: "one.txt", data: "1".repeat(5000) },
      { name: "two.txt", data: "2".repeat(5000) },
    ]);
    const cut = join(dir, "cut.tar");
    await Deno.writeFile(cut, whole.subarray(0, 7000));
    const out2 = join(dir, "out2");
    await assert.rejects(() => extractArchive(cut, out2, { quiet: true }), InputError);
    assert.equal(await exists(out2), false);
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), ["cut.tar", "deep", "t.tgz"]);

    // A directory is copied the same way.
    const tree = join(dir, "tree");
    await writeTree(tree, FILES);
    assert.deepEqual(await extractArchive(tree, join(dir, "copy"), { quiet: true }), { files: 3, bytes: 10 });
    assert.equal(await Deno.readTextFile(join(dir, "copy", "data", "a.txt")), "alpha\n");
  });
});
