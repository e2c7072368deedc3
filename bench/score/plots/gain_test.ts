import assert from "node:assert/strict";
import { binGainSvg, type GainBin } from "./gain.ts";
import { allText, assertValidSvg, attrNum, findAll, findByAttr, NASTY_TITLE, points } from "./_testing.ts";

function bins(gains: (number | null)[]): GainBin[] {
  return gains.map((gain, i) => ({
    lo: i * 5,
    hi: i * 5 + 5,
    trainCount: Math.max(0, 500 - i * 60),
    gain,
    region: i < 3 ? "many" : i < 6 ? "medium" : "few",
  }));
}

Deno.test("binGainSvg: bars start at the zero line, positive up and negative down", () => {
  const gains = [-0.5, -0.2, 0.1, null, 0.8, 1.5, NaN, 3];
  const root = assertValidSvg(
    binGainSvg({ title: "t", unit: "years", nameA: "A", nameB: "B", bins: bins(gains) }),
  );
  const bars = findAll(findByAttr(root, "class", "data"), "rect");
  assert.equal(bars.length, 6); // null and NaN leave no bar
  const zero = attrNum(findByAttr(root, "class", "zero"), "y1");
  const finite = gains.filter((g): g is number => g !== null && Number.isFinite(g));
  bars.forEach((bar, i) => {
    const y = attrNum(bar, "y");
    const h = attrNum(bar, "height");
    if (finite[i] > 0) assert.ok(Math.abs(y + h - zero) < 0.02 && h > 0, `bar ${i} should rise from zero`);
    else assert.ok(Math.abs(y - zero) < 0.02 && h > 0, `bar ${i} should hang from zero`);
  });
  // Heights are proportional to |gain|.
  const ratio = attrNum(bars[5], "height") / attrNum(bars[0], "height");
  assert.ok(Math.abs(ratio - 6) < 0.01, String(ratio));
  assert.deepEqual(bars.map((b) => b.attrs["data-region"]), [
    "many",
    "many",
    "many",
    "medium",
    "medium",
    "few",
  ]);
});

Deno.test("binGainSvg: legend explains the sign with escaped names; histogram on the right axis", () => {
  const svg = binGainSvg({
    title: "t",
    unit: "years",
    nameA: "base<A>",
    nameB: `B&"co"`,
    bins: bins([1, -1, 2]),
  });
  const root = assertValidSvg(svg);
  const texts = allText(root);
  assert.ok(
    texts.some((t) => t.includes(`gain > 0: B&"co" better than base<A>`)),
    texts.join(" | "),
  );
  for (
    const t of ["MAE gain (years)", "training samples", "training samples (right axis)", "label (years)"]
  ) {
    assert.ok(texts.includes(t), t);
  }
  assert.ok(!svg.includes("base<A>"));
  const hist = findByAttr(root, "class", "histogram");
  assert.equal(hist.name, "polygon");
  const pts = points(hist);
  // Three touching bins: baseline start, 2 corners per bin, baseline end.
  assert.equal(pts.length, 8);
  assert.equal(pts[0][1], pts[pts.length - 1][1]);
});

Deno.test("binGainSvg: the zero line is on the axis even when all gains have one sign", () => {
  for (const gains of [[1, 2, 3], [-1, -2, -3], [0, 0], [null, null]]) {
    const root = assertValidSvg(
      binGainSvg({ title: "t", unit: "", nameA: "A", nameB: "B", bins: bins(gains) }),
    );
    const zero = attrNum(findByAttr(root, "class", "zero"), "y1");
    const gridYs = findAll(findByAttr(root, "class", "grid"), "line").map((l) => attrNum(l, "y1"));
    assert.ok(zero >= Math.min(...gridYs) && zero <= Math.max(...gridYs));
    assert.ok(allText(root).includes("0"));
  }
});

Deno.test("binGainSvg: single bin, no bins, and gaps between bins", () => {
  const one = assertValidSvg(binGainSvg({
    title: "one",
    unit: "years",
    nameA: "A",
    nameB: "B",
    bins: [{ lo: 0, hi: 1, trainCount: 0, gain: 0.25, region: "few" }],
  }));
  assert.equal(findAll(findByAttr(one, "class", "data"), "rect").length, 1);

  const none = assertValidSvg(binGainSvg({ title: "none", unit: "years", nameA: "A", nameB: "B", bins: [] }));
  assert.ok(allText(none).includes("no data"));

  // A hole in the label axis drops the histogram outline to zero.
  const holey = [
    { lo: 0, hi: 1, trainCount: 10, gain: 1, region: "many" as const },
    { lo: 5, hi: 6, trainCount: 10, gain: 1, region: "many" as const },
  ];
  const root = assertValidSvg(binGainSvg({ title: "h", unit: "", nameA: "A", nameB: "B", bins: holey }));
  assert.equal(points(findByAttr(root, "class", "histogram")).length, 8);
});

Deno.test("binGainSvg escapes the title and is deterministic", () => {
  const input = {
    title: NASTY_TITLE,
    unit: "years",
    nameA: "A",
    nameB: "B",
    bins: bins([0.3, -0.1, null, 2]),
  };
  const a = binGainSvg(input);
  assert.equal(a, binGainSvg(structuredClone(input)));
  const root = assertValidSvg(a);
  assert.equal(root.children[0].text, NASTY_TITLE);
  assert.ok(!a.includes("<script"));
  assert.throws(
    () => binGainSvg({ ...input, bins: [{ lo: 1, hi: NaN, trainCount: 1, gain: 1, region: "many" }] }),
    RangeError,
  );
});
