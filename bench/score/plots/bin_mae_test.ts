import assert from "node:assert/strict";
import { binMaeSvg, type MaeBin } from "./bin_mae.ts";
import { allText, assertValidSvg, attrNum, findAll, findByAttr, NASTY_TITLE, points } from "./_testing.ts";

/** Ten 10-year bins: five many-shot, three medium, two few; MAE missing in bins 3 and 7. */
function tenBins(): MaeBin[] {
  const regions = [
    "many",
    "many",
    "many",
    "many",
    "many",
    "medium",
    "medium",
    "medium",
    "few",
    "few",
  ] as const;
  return regions.map((region, i) => ({
    lo: i * 10,
    hi: i * 10 + 10,
    trainCount: [800, 1000, 900, 600, 300, 90, 60, 30, 8, 2][i],
    n: i === 3 || i === 7 ? 0 : 20,
    mae: i === 3 || i === 7 ? null : 2 + i,
    region,
  }));
}

Deno.test("binMaeSvg: null MAE bins break the line into runs, with a point per value", () => {
  const root = assertValidSvg(binMaeSvg({ title: "t", unit: "years", bins: tenBins() }));
  const series = findByAttr(root, "data-series", "MAE");
  const runs = findAll(series, "polyline").map((p) => points(p).length);
  assert.deepEqual(runs, [3, 3, 2]); // bins 0-2, 4-6, 8-9
  assert.equal(findAll(series, "circle").length, 8);
  // Points sit at bin centres: the first three runs' x positions are evenly spaced.
  const xs = findAll(series, "circle").map((c) => attrNum(c, "cx"));
  const d = xs[1] - xs[0];
  assert.ok(d > 0 && Math.abs(xs[2] - xs[1] - d) < 0.02);
  assert.ok(Math.abs(xs[3] - xs[2] - 2 * d) < 0.02, "the gap bin leaves one step empty");
});

Deno.test("binMaeSvg: region shading, histogram on the right axis, axis titles", () => {
  const bins = tenBins();
  const svg = binMaeSvg({ title: "t", unit: "years", bins });
  const root = assertValidSvg(svg);
  const bands = findAll(findByAttr(root, "class", "regions"), "rect");
  assert.deepEqual(bands.map((r) => r.attrs["data-region"]), ["many", "medium", "few"]);
  // Bands tile the label axis without gaps or overlaps.
  for (let i = 1; i < bands.length; i++) {
    const prevEnd = attrNum(bands[i - 1], "x") + attrNum(bands[i - 1], "width");
    assert.ok(Math.abs(prevEnd - attrNum(bands[i], "x")) < 0.02);
  }
  const bars = findAll(findByAttr(root, "class", "histogram"), "rect");
  assert.equal(bars.length, bins.length);
  const heights = bars.map((b) => attrNum(b, "height"));
  // The tallest training bin (1000, a nice number) reaches the top of the plot exactly.
  const top = Math.min(...bands.map((b) => attrNum(b, "y")));
  assert.equal(attrNum(bars[1], "y"), top);
  assert.ok(heights[1] > heights[0] && heights[0] > heights[2] * 0.8 && heights[9] < heights[8]);
  const texts = allText(root);
  for (const t of ["MAE (years)", "training samples", "label (years)", "many-shot", "few-shot", "1000"]) {
    assert.ok(texts.includes(t), `missing ${t}`);
  }
});

Deno.test("binMaeSvg: overlaid series, NaN as a gap, and length checks", () => {
  const bins = tenBins();
  const a = bins.map((b) => b.mae);
  const b = bins.map((bin, i) => (i === 5 ? NaN : bin.mae === null ? null : bin.mae - 1));
  const svg = binMaeSvg({
    title: "t",
    unit: "years",
    bins,
    series: [{ name: "A<1>", mae: a }, { name: "B", mae: b }],
  });
  const root = assertValidSvg(svg);
  assert.deepEqual(
    findAll(findByAttr(root, "data-series", "A<1>"), "polyline").map((p) => points(p).length),
    [
      3,
      3,
      2,
    ],
  );
  assert.deepEqual(findAll(findByAttr(root, "data-series", "B"), "polyline").map((p) => points(p).length), [
    3,
    2,
  ]); // bin 4 alone (between the null at 3 and NaN at 5) is a dot, not a line
  assert.equal(findAll(findByAttr(root, "data-series", "B"), "circle").length, 7);
  assert.ok(allText(root).includes("A<1>"));
  assert.throws(
    () => binMaeSvg({ title: "t", unit: "", bins, series: [{ name: "short", mae: [1] }] }),
    RangeError,
  );
});

Deno.test("binMaeSvg: single bin, no bins, all-null MAE, zero counts don't break", () => {
  const one = assertValidSvg(binMaeSvg({
    title: "one",
    unit: "years",
    bins: [{ lo: 20, hi: 21, trainCount: 5, n: 1, mae: 0, region: "few" }],
  }));
  assert.equal(findAll(findByAttr(one, "class", "data"), "circle").length, 1);
  assert.equal(findAll(findByAttr(one, "class", "data"), "polyline").length, 0);

  const none = assertValidSvg(binMaeSvg({ title: "none", unit: "years", bins: [] }));
  assert.ok(allText(none).includes("no data"));

  const allNull = tenBins().map((b) => ({ ...b, mae: null, trainCount: 0 }));
  const root = assertValidSvg(binMaeSvg({ title: "null", unit: "years", bins: allNull }));
  assert.equal(findAll(findByAttr(root, "class", "data"), "circle").length, 0);
});

Deno.test("binMaeSvg: small training counts get integer ticks on the right axis", () => {
  const bins = tenBins().map((b, i) => ({ ...b, trainCount: i % 4 }));
  const texts = allText(assertValidSvg(binMaeSvg({ title: "t", unit: "years", bins })));
  assert.ok(!texts.includes("0.5") && !texts.includes("1.5"));
  assert.ok(texts.includes("3"));
});

Deno.test("binMaeSvg: unsorted bins draw the same lines; bad bins are rejected", () => {
  const bins = tenBins();
  const sorted = assertValidSvg(binMaeSvg({ title: "t", unit: "years", bins }));
  const shuffled = assertValidSvg(binMaeSvg({ title: "t", unit: "years", bins: [...bins].reverse() }));
  const lines = (root: ReturnType<typeof assertValidSvg>) =>
    findAll(findByAttr(root, "class", "data"), "polyline").map((p) => p.attrs.points).sort();
  assert.deepEqual(lines(shuffled), lines(sorted));
  const bad = [{ ...bins[0], hi: bins[0].lo }];
  assert.throws(() => binMaeSvg({ title: "t", unit: "", bins: bad }), RangeError);
  assert.throws(
    () => binMaeSvg({ title: "t", unit: "", bins: [{ ...bins[0], trainCount: NaN }] }),
    RangeError,
  );
});

Deno.test("binMaeSvg escapes text and is deterministic", () => {
  const input = { title: NASTY_TITLE, unit: "<y>", bins: tenBins() };
  const a = binMaeSvg(input);
  assert.equal(a, binMaeSvg(structuredClone(input)));
  const root = assertValidSvg(a);
  assert.equal(root.children[0].text, NASTY_TITLE);
  assert.ok(allText(root).includes("MAE (<y>)"));
  assert.ok(!a.includes("<script") && !a.includes("<y>"));
});
