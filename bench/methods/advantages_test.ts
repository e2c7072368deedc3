import assert from "node:assert/strict";
import { ADVANTAGE_EPSILON, drGrpoAdvantages, groupAdvantages, grpoAdvantages } from "./advantages.ts";

const closeAll = (actual: number[][], expected: number[][], tol = 5e-6) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, k) =>
      assert.ok(Math.abs(v - expected[i][k]) <= tol, `[${i}][${k}] ${v} ≉ ${expected[i][k]}`)
    )
  );
};

Deno.test("GRPO advantages: the methods.md §1.3 test vector (Bessel std, +1e-4)", () => {
  const a = grpoAdvantages([[1, 0, 0, 1]]);
  closeAll(a, [[0.86588, -0.86588, -0.86588, 0.86588]]);
  // Exactly TRL's formula: 0.5 / (sqrt(1/3) + 1e-4).
  assert.ok(Math.abs(a[0][0] - 0.5 / (Math.sqrt(1 / 3) + ADVANTAGE_EPSILON)) < 1e-15);
});

Deno.test("GRPO advantages: the methods.md §8.4 CCC rewards, std-normalised and without std", () => {
  const r = [[1.493560, 1.424280], [1.466088, 1.469295], [1.449846, 1.428148]];
  closeAll(grpoAdvantages(r), [[0.705666, -0.705666], [-0.677241, 0.677241], [0.702528, -0.702528]], 1e-4);
  closeAll(
    drGrpoAdvantages(r),
    [[0.034640, -0.034640], [-0.0016035, 0.0016035], [0.010849, -0.010849]],
    1e-6,
  );
});

Deno.test("advantages: a constant group gets exactly 0, whatever the scaling", () => {
  for (const scale of ["group", "batch", "none"] as const) {
    assert.deepEqual(groupAdvantages([[0.1 + 0.2, 0.1 + 0.2, 0.1 + 0.2]], scale), [[0, 0, 0]]);
  }
});

Deno.test("advantages: batch scaling divides by the std of all rewards, the mean staying per group", () => {
  const r = [[1, 3], [10, 10]];
  const all = [1, 3, 10, 10], m = 6;
  const std = Math.sqrt(all.reduce((s, v) => s + (v - m) ** 2, 0) / 3);
  closeAll(groupAdvantages(r, "batch"), [[-1 / (std + 1e-4), 1 / (std + 1e-4)], [0, 0]], 1e-12);
});

Deno.test("advantages: refuse K < 2, ragged groups and non-finite rewards", () => {
  assert.throws(() => grpoAdvantages([[1]]), RangeError);
  assert.throws(() => grpoAdvantages([[1, 2], [1]]), RangeError);
  assert.throws(() => grpoAdvantages([[1, NaN]]), RangeError);
  assert.deepEqual(grpoAdvantages([]), []);
});
