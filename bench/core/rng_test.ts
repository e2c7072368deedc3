import assert from "node:assert/strict";
import { randomInt, seededRng } from "./rng.ts";

Deno.test("seededRng is reproducible and seed-dependent", () => {
  const a = seededRng(42), b = seededRng(42), c = seededRng(43);
  const xs = Array.from({ length: 5 }, a),
    ys = Array.from({ length: 5 }, b),
    zs = Array.from({ length: 5 }, c);
  assert.deepEqual(xs, ys);
  assert.notDeepEqual(xs, zs);
});

Deno.test("seededRng is uniform on [0, 1) to within sampling error", () => {
  const rng = seededRng(1);
  const counts = new Array(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const u = rng();
    assert.ok(u >= 0 && u < 1);
    counts[Math.floor(u * 10)]++;
  }
  // Each decile expects 10,000 with sd ≈ 95; 5 sd is a generous bound that still catches a broken generator.
  for (const c of counts) assert.ok(Math.abs(c - n / 10) < 475, `decile count ${c}`);
  const r = seededRng(2);
  const ints = new Set(Array.from({ length: 1000 }, () => randomInt(r, 7)));
  assert.deepEqual([...ints].sort(), [0, 1, 2, 3, 4, 5, 6]);
});
