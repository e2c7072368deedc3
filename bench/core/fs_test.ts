import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "./errors.ts";
import { readTextFile, writeFileAtomic, writeJsonAtomic } from "./fs.ts";

Deno.test("writeFileAtomic replaces the file whole and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "sub", "out.json");
    await writeJsonAtomic(path, { a: 1 });
    assert.equal(await Deno.readTextFile(path), '{\n  "a": 1\n}\n');
    await writeFileAtomic(path, "second");
    assert.equal(await Deno.readTextFile(path), "second");
    assert.deepEqual([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["out.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic keeps the old file when the write fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "out.txt");
    await Deno.writeTextFile(path, "old");
    // Renaming a file over a non-empty directory fails; the directory stands in for a failed write.
    const blocked = join(dir, "blocked");
    await Deno.mkdir(join(blocked, "child"), { recursive: true });
    await assert.rejects(writeFileAtomic(blocked, "new"));
    assert.equal(await Deno.readTextFile(path), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["blocked", "out.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTextFile says what was missing and where", async () => {
  await assert.rejects(
    readTextFile("/nonexistent/preds.jsonl", "predictions file"),
    (e) => e instanceof InputError && e.message === "/nonexistent/preds.jsonl: predictions file not found",
  );
});
