import assert from "node:assert/strict";
import { curvePoints, MAX_CURVE_POINTS, sortedErrorCurveSvg } from "./error_curve.ts";
import {
  allText,
  assertValidSvg,
  attrNum,
  findAll,
  findByAttr,
  NASTY_TITLE,
  points,
  rng,
} from "./_testing.ts";

function bigRegion(n: number, seed: number, outlier: number): number[] {
  const rand = rng(seed);
  const errors = Array.from({ length: n - 1 }, () => 10 * rand() ** 2);
  errors.splice(Math.floor(n / 3), 0, outlier); // not at the end: the function must sort
  return errors;
}

Deno.test("sortedErrorCurveSvg: small regions draw every sorted point, legend shows n and MAE", () => {
  const svg = sortedErrorCurveSvg({
    title: "AgeDB",
    unit: "years",
    regions: [
      { name: "all", absErrors: [3, 1, 2, 6] },
      { name: "many", absErrors: [3, 1, 2] },
      { name: "few", absErrors: [6] },
    ],
  });
  const root = assertValidSvg(svg);
  const many = findByAttr(root, "data-region", "many");
  assert.equal(many.name, "polyline");
  assert.equal(many.attrs["data-n"], "3");
  const pts = points(many);
  assert.equal(pts.length, 4); // (0, e0) plus one point per sample
  // x grows evenly and y follows the sorted errors: 1, 1, 2, 3.
  const ys = pts.map(([, y]) => y);
  assert.equal(ys[0], ys[1]);
  assert.ok(ys[1] > ys[2] && ys[2] > ys[3]);
  assert.ok(Math.abs((ys[1] - ys[2]) - (ys[2] - ys[3])) < 0.02);
  // One sample still gives a visible, full-width line.
  const few = points(findByAttr(root, "data-region", "few"));
  assert.equal(few.length, 2);
  assert.equal(few[0][1], few[1][1]);
  assert.equal(few[0][0], pts[0][0]);
  assert.equal(few[1][0], pts[3][0]);

  const texts = allText(root);
  assert.ok(texts.includes("many (n = 3, MAE = 2 years)"), texts.join(" | "));
  assert.ok(texts.includes("all (n = 4, MAE = 3 years)"));
  assert.ok(texts.includes("absolute error (years)"));
  // The top of the y axis is the max error, rounded up to a nice tick.
  assert.ok(texts.includes("6"));
});

Deno.test("sortedErrorCurveSvg downsamples 200,000 samples to <= 1000 points and keeps the maximum", () => {
  const outlier = 1000; // a nice number, so it lands exactly on the top tick
  const errors = bigRegion(200_000, 7, outlier);
  const copy = errors.slice();
  const svg = sortedErrorCurveSvg({
    title: "big",
    unit: "years",
    regions: [{ name: "many", absErrors: errors }],
  });
  assert.deepEqual(errors, copy, "input must not be mutated");
  const root = assertValidSvg(svg);
  const pts = points(findByAttr(root, "data-region", "many"));
  assert.ok(pts.length <= MAX_CURVE_POINTS, `${pts.length} points`);
  assert.ok(pts.length > 200, `${pts.length} points: too coarse`);
  for (let i = 1; i < pts.length; i++) {
    assert.ok(pts[i][0] >= pts[i - 1][0] && pts[i][1] <= pts[i - 1][1], "curve must stay monotone");
  }
  // The last point is the outlier: at the right edge and at the top gridline (tick 1000).
  const [lastX, lastY] = pts[pts.length - 1];
  const gridYs = findAll(findByAttr(root, "class", "grid"), "line").map((l) => attrNum(l, "y1"));
  assert.equal(lastY, Math.min(...gridYs));
  assert.equal(lastX, Math.max(...pts.map(([x]) => x)));
  assert.ok(pts[pts.length - 2][1] - lastY > 100, "the jump to the outlier must survive downsampling");
  assert.ok(svg.length < 60_000, `${svg.length} bytes`);
});

Deno.test("curvePoints bounds the count for any size and always ends at the exact maximum", () => {
  const plot = { left: 50, top: 10, right: 650, bottom: 370 };
  const x = (v: number) => plot.left + v * (plot.right - plot.left);
  for (const n of [1, 2, 10, 999, 1000, 5000, 123_457]) {
    const sorted = Float64Array.from(bigRegion(n, n, 50)).sort();
    const max = sorted[n - 1];
    const y = (v: number) => plot.bottom - (v / max) * (plot.bottom - plot.top);
    for (const cap of [10, 100, MAX_CURVE_POINTS]) {
      const pts = curvePoints(sorted, x, y, plot, cap);
      assert.ok(pts.length <= cap, `n=${n} cap=${cap}: ${pts.length}`);
      assert.deepEqual(pts[pts.length - 1], [x(1), y(max)]);
      assert.deepEqual(pts[0], [x(0), y(sorted[0])]);
    }
  }
  assert.deepEqual(curvePoints([], x, (v) => v, plot, 100), []);
});

Deno.test("sortedErrorCurveSvg: an empty region gets no curve, a legend entry, and no NaN", () => {
  const svg = sortedErrorCurveSvg({
    title: "t",
    unit: "years",
    regions: [
      { name: "all", absErrors: [1, 2] },
      { name: "many", absErrors: [1, 2] },
      { name: "medium", absErrors: [] },
      { name: "few", absErrors: [] },
    ],
  });
  const root = assertValidSvg(svg);
  const curves = findAll(root, "polyline").map((p) => p.attrs["data-region"]);
  assert.deepEqual(curves, ["all", "many"]);
  const texts = allText(root);
  assert.ok(texts.includes("few (n = 0)"));
  assert.ok(texts.includes("medium (n = 0)"));
});

Deno.test("sortedErrorCurveSvg: all-zero errors, no regions, and all-empty regions don't break", () => {
  for (
    const regions of [
      [{ name: "all" as const, absErrors: [0, 0, 0] }],
      [],
      [{ name: "many" as const, absErrors: [] }, { name: "few" as const, absErrors: [] }],
    ]
  ) {
    const svg = sortedErrorCurveSvg({ title: "zero", unit: "", regions });
    const root = assertValidSvg(svg);
    assert.ok(allText(root).includes("absolute error"));
  }
  const zero = assertValidSvg(
    sortedErrorCurveSvg({ title: "zero", unit: "y", regions: [{ name: "all", absErrors: [0, 0] }] }),
  );
  assert.ok(allText(zero).includes("all (n = 2, MAE = 0 y)"));
});

Deno.test("sortedErrorCurveSvg escapes the title and unit and is deterministic", () => {
  const input = {
    title: NASTY_TITLE,
    unit: `<&"u">`,
    regions: [{ name: "all" as const, absErrors: bigRegion(5000, 3, 20) }],
  };
  const a = sortedErrorCurveSvg(input);
  const b = sortedErrorCurveSvg(structuredClone(input));
  assert.equal(a, b);
  const root = assertValidSvg(a);
  assert.equal(root.children[0].text, NASTY_TITLE);
  assert.ok(allText(root).includes(NASTY_TITLE));
  assert.ok(allText(root).includes(`absolute error (<&"u">)`));
  assert.ok(!a.includes("<script"));
});

Deno.test("sortedErrorCurveSvg rejects negative and non-finite errors", () => {
  for (const bad of [-1, NaN, Infinity]) {
    assert.throws(
      () => sortedErrorCurveSvg({ title: "t", unit: "", regions: [{ name: "few", absErrors: [1, bad] }] }),
      RangeError,
    );
  }
});
