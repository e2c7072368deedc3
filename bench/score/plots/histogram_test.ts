import assert from "node:assert/strict";
import { type HistogramBin, labelHistogramSvg } from "./histogram.ts";
import {
  allText,
  assertValidSvg,
  attrNum,
  findAll,
  findByAttr,
  NASTY_TITLE,
  type XmlElement,
} from "./_testing.ts";

const THRESHOLDS = { manyAbove: 100, fewBelow: 20 };

function regionOf(count: number): HistogramBin["region"] {
  return count > 100 ? "many" : count >= 20 ? "medium" : "few";
}

/** AgeDB-like: 102 one-year bins, counts rising to 353 and falling to 1, with some empty bins. */
function ageBins(): HistogramBin[] {
  return Array.from({ length: 102 }, (_, i) => {
    const c = Math.round(353 * Math.exp(-(((i - 38) / (i < 38 ? 12 : 18)) ** 2)));
    const count = i === 101 ? 1 : c;
    return { lo: i, hi: i + 1, count, region: regionOf(count) };
  });
}

/** Bone-age-like: 229 month bins peaking at 7,149. */
function monthBins(): HistogramBin[] {
  return Array.from({ length: 229 }, (_, i) => {
    const count = i === 150 ? 7149 : Math.round(7000 * Math.exp(-(((i - 150) / 35) ** 2)));
    return { lo: i, hi: i + 1, count, region: regionOf(count) };
  });
}

function barsOf(root: XmlElement): XmlElement[] {
  return findAll(findByAttr(root, "class", "data"), "rect");
}

/** Tick labels of the frame: y ticks are right-aligned, x ticks centred, both in the tick font. */
function tickLabels(root: XmlElement, anchor: "end" | "middle"): XmlElement[] {
  return findAll(findByAttr(root, "class", "axes"), "text").filter((t) =>
    t.attrs["text-anchor"] === anchor && t.attrs["font-size"] === "11"
  );
}

Deno.test("labelHistogramSvg: one bar per non-empty bin, coloured by region, height proportional", () => {
  const bins = ageBins();
  const root = assertValidSvg(labelHistogramSvg({ title: "t", unit: "years", bins }));
  const bars = barsOf(root);
  const nonZero = bins.filter((b) => b.count > 0);
  assert.ok(nonZero.length < bins.length, "fixture should have empty bins");
  assert.equal(bars.length, nonZero.length);
  assert.deepEqual(bars.map((b) => b.attrs["data-region"]), nonZero.map((b) => b.region));
  // Bars go left to right and stand on a common baseline.
  const xs = bars.map((b) => attrNum(b, "x"));
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i] > xs[i - 1]);
  const base = attrNum(bars[0], "y") + attrNum(bars[0], "height");
  for (const b of bars) assert.ok(Math.abs(attrNum(b, "y") + attrNum(b, "height") - base) < 0.02);
  // Heights are proportional to counts (above the 1 px floor).
  const peak = nonZero.findIndex((b) => b.count === 353);
  const half = nonZero.findIndex((b) => b.count > 150 && b.count < 200);
  const ratio = attrNum(bars[peak], "height") / attrNum(bars[half], "height");
  assert.ok(Math.abs(ratio - 353 / nonZero[half].count) < 0.01, String(ratio));
  // A 1-sample bin still shows.
  assert.ok(attrNum(bars[bars.length - 1], "height") >= 1);
  // Region shading behind the bars, one band per run of a region.
  const bands = findAll(findByAttr(root, "class", "regions"), "rect");
  assert.deepEqual(bands.map((r) => r.attrs["data-region"]), ["few", "medium", "many", "medium", "few"]);
});

Deno.test("labelHistogramSvg: legend counts bins per region; axis titles", () => {
  const bins = ageBins();
  const texts = allText(assertValidSvg(labelHistogramSvg({ title: "t", unit: "years", bins })));
  for (const r of ["many", "medium", "few"] as const) {
    const n = bins.filter((b) => b.region === r).length;
    assert.ok(texts.includes(`${r}-shot (${n} bins)`), `${r}: ${texts.join(" | ")}`);
  }
  assert.ok(texts.includes("label (years)") && texts.includes("samples"));

  const custom = allText(assertValidSvg(labelHistogramSvg({
    title: "t",
    unit: "",
    countLabel: "test samples",
    bins: [{ lo: 0, hi: 1, count: 3, region: "few" }, { lo: 1, hi: 2, count: 300, region: "many" }],
  })));
  assert.ok(custom.includes("few-shot (1 bin)") && custom.includes("many-shot (1 bin)"));
  assert.ok(!custom.some((t) => t.startsWith("medium-shot")), "absent regions get no legend entry");
  assert.ok(custom.includes("test samples") && custom.includes("label"));
  assert.ok(custom.some((t) => t.startsWith("303 test samples in total")));
});

Deno.test("labelHistogramSvg: threshold lines only when asked, at the right counts", () => {
  const bins = ageBins();
  const plain = labelHistogramSvg({ title: "t", unit: "years", bins });
  assert.ok(!plain.includes("thresholds") && !plain.includes("many &gt; 100"));
  assert.equal(findAll(assertValidSvg(plain), "line").filter((l) => l.attrs["stroke-dasharray"]).length, 0);

  const root = assertValidSvg(labelHistogramSvg({ title: "t", unit: "years", bins, thresholds: THRESHOLDS }));
  const many = findByAttr(root, "data-threshold", "many");
  const few = findByAttr(root, "data-threshold", "few");
  assert.equal(findAll(many, "text")[0].text, "many > 100");
  assert.equal(findAll(few, "text")[0].text, "few < 20");
  const [manyLine] = findAll(many, "line");
  const [fewLine] = findAll(few, "line");
  assert.ok(manyLine.attrs["stroke-dasharray"] && fewLine.attrs["stroke-dasharray"]);
  // Ticks are 0, 100, ..., 400: the many line lies on the 100 grid line, the few line a fifth of that up.
  const grid = findAll(findByAttr(root, "class", "grid"), "line").map((l) => attrNum(l, "y1"));
  assert.equal(grid.length, 5);
  const y0 = grid[0];
  const y100 = grid[1];
  assert.ok(Math.abs(attrNum(manyLine, "y1") - y100) < 0.02);
  assert.ok(Math.abs(y0 - attrNum(fewLine, "y1") - (y0 - y100) / 5) < 0.02);

  // Thresholds above every count extend the axis so the lines stay on the plot.
  const low = assertValidSvg(labelHistogramSvg({
    title: "t",
    unit: "",
    bins: [{ lo: 0, hi: 1, count: 5, region: "few" }],
    thresholds: THRESHOLDS,
  }));
  const top = Math.min(...findAll(findByAttr(low, "class", "grid"), "line").map((l) => attrNum(l, "y1")));
  assert.ok(attrNum(findAll(findByAttr(low, "data-threshold", "many"), "line")[0], "y1") >= top - 0.01);

  for (const bad of [{ manyAbove: NaN, fewBelow: 20 }, { manyAbove: 100, fewBelow: -1 }]) {
    assert.throws(() => labelHistogramSvg({ title: "t", unit: "", bins, thresholds: bad }), RangeError);
  }
});

Deno.test("labelHistogramSvg: 229 month bins and a 7,149 peak stay readable", () => {
  const bins = monthBins();
  const svg = labelHistogramSvg({ title: "bone age", unit: "months", bins, thresholds: THRESHOLDS });
  const root = assertValidSvg(svg);
  const bars = barsOf(root);
  assert.equal(bars.length, bins.filter((b) => b.count > 0).length);
  // Bars a few px wide are drawn edge to edge, without gaps, with crisp edges.
  assert.equal(findByAttr(root, "class", "data").attrs["shape-rendering"], "crispEdges");
  for (let i = 1; i < bars.length; i++) {
    const end = attrNum(bars[i - 1], "x") + attrNum(bars[i - 1], "width");
    assert.ok(Math.abs(end - attrNum(bars[i], "x")) < 0.02, `gap before bar ${i}`);
  }
  // Y tick labels are at least a line apart, x tick labels don't run into each other.
  const ys = tickLabels(root, "end").map((t) => attrNum(t, "y"));
  assert.ok(ys.length >= 3);
  for (let i = 1; i < ys.length; i++) assert.ok(Math.abs(ys[i] - ys[i - 1]) >= 14);
  const xs = tickLabels(root, "middle").map((t) => ({ x: attrNum(t, "x"), w: t.text.length * 11 * 0.6 }));
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i].x - xs[i].w / 2 > xs[i - 1].x + xs[i - 1].w / 2);
  // Both threshold lines are squeezed near the axis; their labels are pushed apart.
  const labelYs = findAll(findByAttr(root, "class", "thresholds"), "text").map((t) => attrNum(t, "y"));
  assert.equal(labelYs.length, 2);
  assert.ok(Math.abs(labelYs[0] - labelYs[1]) >= 12, String(labelYs));
  // The smallest non-empty bin is still visible next to the peak.
  assert.ok(Math.min(...bars.map((b) => attrNum(b, "height"))) >= 1);
  assert.ok(allText(root).some((t) => t.includes("many-shot (")));
});

Deno.test("labelHistogramSvg: wide bars are separated by a gap", () => {
  const bins = Array.from({ length: 10 }, (_, i) => ({
    lo: i * 10,
    hi: i * 10 + 10,
    count: 10 + i,
    region: regionOf(10 + i),
  }));
  const root = assertValidSvg(labelHistogramSvg({ title: "t", unit: "", bins }));
  const bars = barsOf(root);
  assert.equal(findByAttr(root, "class", "data").attrs["shape-rendering"], undefined);
  for (let i = 1; i < bars.length; i++) {
    const gap = attrNum(bars[i], "x") - attrNum(bars[i - 1], "x") - attrNum(bars[i - 1], "width");
    assert.ok(Math.abs(gap - 1) < 0.02, String(gap));
  }
});

Deno.test("labelHistogramSvg: single bin, all-zero counts and no bins", () => {
  const one = assertValidSvg(labelHistogramSvg({
    title: "one",
    unit: "years",
    bins: [{ lo: 3, hi: 4, count: 7, region: "few" }],
    thresholds: THRESHOLDS,
  }));
  assert.equal(barsOf(one).length, 1);

  const zeros = ageBins().map((b) => ({ ...b, count: 0 }));
  const zero = assertValidSvg(labelHistogramSvg({ title: "zero", unit: "years", bins: zeros }));
  assert.equal(barsOf(zero).length, 0);
  assert.equal(findAll(findByAttr(zero, "class", "regions"), "rect").length, 5);
  assert.ok(allText(zero).includes("1"), "an empty histogram still gets a [0, 1] count axis");

  const none = assertValidSvg(labelHistogramSvg({ title: "none", unit: "years", bins: [] }));
  assert.ok(allText(none).includes("no data"));
  assert.equal(barsOf(none).length, 0);
});

Deno.test("labelHistogramSvg: unsorted bins draw the same bars; bad bins are rejected", () => {
  const bins = ageBins();
  const sorted = labelHistogramSvg({ title: "t", unit: "years", bins });
  assert.equal(labelHistogramSvg({ title: "t", unit: "years", bins: [...bins].reverse() }), sorted);
  const b0 = bins[0];
  for (
    const bad of [
      { ...b0, count: NaN },
      { ...b0, count: -1 },
      { ...b0, count: Infinity },
      { ...b0, hi: b0.lo },
      { ...b0, region: "rare" as HistogramBin["region"] },
    ]
  ) {
    assert.throws(() => labelHistogramSvg({ title: "t", unit: "", bins: [bad] }), RangeError);
  }
});

Deno.test("labelHistogramSvg escapes text and is deterministic", () => {
  const input = {
    title: NASTY_TITLE,
    unit: "<y>",
    countLabel: "a&b",
    bins: ageBins(),
    thresholds: THRESHOLDS,
  };
  const a = labelHistogramSvg(input);
  assert.equal(a, labelHistogramSvg(structuredClone(input)));
  const root = assertValidSvg(a);
  assert.equal(root.children[0].text, NASTY_TITLE);
  const texts = allText(root);
  assert.ok(texts.includes("label (<y>)") && texts.includes("a&b"));
  assert.ok(!a.includes("<script") && !a.includes("<y>") && !a.includes("a&b"));
});
