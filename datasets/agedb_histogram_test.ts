import assert from "node:assert/strict";
import { AGEDB_DIR_TRAIN_COUNTS } from "./agedb_histogram.ts";

const SPLIT_CSV = new URL("../../shared/data/dir-splits/agedb.csv", import.meta.url);

Deno.test("AgeDB-DIR train histogram: size, total, peak", () => {
  assert.equal(AGEDB_DIR_TRAIN_COUNTS.length, 102);
  assert.equal(AGEDB_DIR_TRAIN_COUNTS.reduce((a, b) => a + b, 0), 12_208);
  assert.equal(Math.max(...AGEDB_DIR_TRAIN_COUNTS), 353);
  assert.equal(AGEDB_DIR_TRAIN_COUNTS.indexOf(353), 35);
});

Deno.test({
  name: "AgeDB-DIR train histogram matches the official split file (when ../shared has it)",
  ignore: (() => {
    try {
      Deno.statSync(SPLIT_CSV);
      return false;
    } catch {
      return true;
    }
  })(),
  fn: async () => {
    const counts = new Array(102).fill(0);
    const lines = (await Deno.readTextFile(SPLIT_CSV)).trim().split("\n").slice(1);
    for (const line of lines) {
      const [age, , split] = line.split(",");
      if (split.trim() === "train") counts[Number(age)]++;
    }
    assert.deepEqual(counts, AGEDB_DIR_TRAIN_COUNTS);
  },
});
