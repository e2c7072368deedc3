import assert from "node:assert/strict";
import { GEMM_CANDIDATES, NAMED_TILES, SMALL_CANDIDATES } from "./bench_kernels.ts";

Deno.test("bench_kernels: every sweep label names one configuration", () => {
  // The sweeps run the named tiles beside the candidates and report rows by label, so a label shared by two
  // configurations would make two different kernels look like one kernel timed twice.
  for (const list of [[...NAMED_TILES, ...GEMM_CANDIDATES], [...NAMED_TILES, ...SMALL_CANDIDATES]]) {
    const seen = new Map<string, string>();
    for (const { label, config } of list) {
      const json = JSON.stringify(config);
      const before = seen.get(label);
      assert.ok(before === undefined || before === json, `label ${label} names two configurations`);
      assert.ok(before === undefined, `label ${label} is listed twice`);
      seen.set(label, json);
    }
  }
});
