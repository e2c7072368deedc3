import assert from "node:assert/strict";
import {
  escapeXml,
  FONT_SIZE,
  formatCount,
  formatNumber,
  formatTick,
  linearScale,
  niceStep,
  niceTicks,
  num,
  plotFrame,
  REGION_COLORS,
  REGION_TINTS,
  svgDocument,
  tint,
} from "./svg.ts";
import { allText, assertValidSvg, findAll, NASTY_TITLE, parseXml, rng } from "./_testing.ts";

/** True when `step` is 1, 2 or 5 times a power of ten (up to float noise). */
function isNiceStep(step: number): boolean {
  const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9);
}

Deno.test("escapeXml escapes markup and quotes and replaces characters XML forbids", () => {
  assert.equal(escapeXml(`<script>&"'`), "&lt;script&gt;&amp;&quot;&apos;");
  assert.equal(escapeXml("a\u0000b\u001Fc\td\ne"), "a\ufffdb\ufffdc\td\ne");
  assert.equal(escapeXml("x\uD800y"), "x\ufffdy"); // lone surrogate
  assert.equal(escapeXml("µ 年 😀"), "µ 年 😀");
  // Escaping is not idempotent by design: escaping twice must show the entity literally.
  assert.equal(escapeXml("&amp;"), "&amp;amp;");
});

Deno.test("linearScale maps linearly, inverts ranges, and survives an empty domain", () => {
  const s = linearScale([0, 10], [100, 0]);
  assert.equal(s(0), 100);
  assert.equal(s(10), 0);
  assert.equal(s(2.5), 75);
  const flat = linearScale([3, 3], [0, 50]);
  assert.equal(flat(3), 25);
  assert.equal(flat(100), 25);
});

Deno.test("niceStep picks 1/2/5 x 10^k", () => {
  assert.equal(niceStep(1, 5), 0.2);
  assert.equal(niceStep(100, 5), 20);
  assert.equal(niceStep(7, 5), 2);
  assert.equal(niceStep(0.03, 3), 0.01);
  assert.equal(niceStep(0, 5), 1);
});

Deno.test("niceTicks gives exact nice values on the usual ranges", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 0.3, { count: 3 }), [0, 0.1, 0.2, 0.3]);
  assert.deepEqual(niceTicks(0, 87), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(-3.2, 4.1, { count: 4 }), [-4, -2, 0, 2, 4, 6]);
  assert.deepEqual(niceTicks(0, 3, { integer: true, count: 10 }), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(0, 200000), [0, 50000, 100000, 150000, 200000]);
});

Deno.test("niceTicks handles degenerate and non-finite ranges", () => {
  assert.deepEqual(niceTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const single = niceTicks(5, 5);
  assert.ok(single[0] < 5 && single[single.length - 1] > 5, String(single));
  assert.deepEqual(niceTicks(NaN, Infinity), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(1, 0), niceTicks(0, 1));
  assert.ok(!niceTicks(-0, 0).some((t) => Object.is(t, -0)));
});

Deno.test("niceTicks on random ranges: covering, evenly spaced, nice, printable", () => {
  const rand = rng(42);
  for (let i = 0; i < 2000; i++) {
    const scale = 10 ** Math.floor(rand() * 14 - 7);
    const a = (rand() - 0.3) * scale;
    const b = a + rand() * scale;
    const count = 2 + Math.floor(rand() * 9);
    const ticks = niceTicks(a, b, { count });
    assert.ok(ticks[0] <= a && ticks[ticks.length - 1] >= b, `${a}..${b}: ${ticks}`);
    assert.ok(ticks.length >= 2 && ticks.length <= 2 * count + 3, `${a}..${b} count ${count}: ${ticks}`);
    const step = ticks[1] - ticks[0];
    assert.ok(isNiceStep(step), `step ${step}`);
    for (let k = 1; k < ticks.length; k++) {
      assert.ok(Math.abs(ticks[k] - ticks[k - 1] - step) <= step * 1e-6, `uneven ${ticks}`);
    }
    for (const t of ticks) {
      const label = formatTick(t, step);
      assert.match(label, /^-?\d+(\.\d+)?$/);
      // Labels are exact: at most as many decimals as the step needs, and no float noise.
      assert.ok(Math.abs(Number(label) - t) <= step * 1e-6, `${label} vs ${t}`);
      assert.ok(label.length <= 20, label);
    }
  }
});

Deno.test("formatTick removes float noise and negative zero", () => {
  assert.equal(formatTick(0.1 + 0.2, 0.1), "0.3");
  assert.equal(formatTick(0.1 + 0.2), "0.3");
  assert.equal(formatTick(-0, 1), "0");
  assert.equal(formatTick(-1e-17, 0.5), "0.0");
  assert.equal(formatTick(150000, 50000), "150000");
  assert.equal(formatTick(0.00015, 0.00005), "0.00015");
  assert.equal(formatTick(NaN), "");
});

Deno.test("formatNumber and formatCount are short and locale-independent", () => {
  assert.equal(formatNumber(4.21489), "4.21");
  assert.equal(formatNumber(12.3456), "12.3");
  assert.equal(formatNumber(0), "0");
  assert.equal(formatNumber(0.000123456), "0.000123");
  assert.equal(formatNumber(123456.7), "123,457");
  assert.equal(formatCount(200000), "200,000");
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(-1234567), "-1,234,567");
});

Deno.test("num rounds coordinates and refuses NaN / Infinity", () => {
  assert.equal(num(1.23456), "1.23");
  assert.equal(num(-0.001), "0");
  assert.throws(() => num(NaN), RangeError);
  assert.throws(() => num(Infinity), RangeError);
});

Deno.test("tint mixes with white and region colours are distinct", () => {
  assert.equal(tint("#000000", 0), "#ffffff");
  assert.equal(tint("#0072b2", 1), "#0072b2");
  assert.equal(tint("#000000", 0.5), "#808080");
  assert.throws(() => tint("red", 0.5), RangeError);
  const colors = Object.values(REGION_COLORS);
  assert.equal(new Set(colors).size, colors.length);
  for (const t of Object.values(REGION_TINTS)) assert.match(t, /^#[0-9a-f]{6}$/);
});

Deno.test("parseXml (the test helper) rejects malformed documents", () => {
  parseXml(`<a x="1"><b/>t &amp; &#38; &#x26;<!-- c --></a>`);
  for (
    const bad of [
      "<a><b></a></b>",
      "<a>",
      "<a></a><b/>",
      `<a x=1/>`,
      `<a x="1" x="2"/>`,
      `<a x="<"/>`,
      "<a>&</a>",
      "<a>&foo;</a>",
      "text<a/>",
      "<a>\u0001</a>",
      "",
    ]
  ) {
    assert.throws(() => parseXml(bad), SyntaxError, bad);
  }
});

Deno.test("svgDocument makes a complete document with an escaped title", () => {
  const svg = svgDocument({
    width: 200,
    height: 100,
    title: NASTY_TITLE,
    body: `<circle cx="1" cy="1" r="1"/>`,
  });
  const root = assertValidSvg(svg);
  assert.equal(root.attrs.viewBox, "0 0 200 100");
  assert.equal(root.attrs.width, "200");
  assert.equal(root.children[0].text, NASTY_TITLE);
  assert.ok(!svg.includes("<script"));
  assert.ok(svg.endsWith("</svg>\n"));
});

Deno.test("plotFrame: ticks label the axes, legend sits below the plot, titles escaped", () => {
  const frame = plotFrame({
    title: NASTY_TITLE,
    x: { title: "x <unit>", min: 0, max: 1 },
    y: { title: "y", min: 0, max: 87 },
    y2: { title: "count", min: 0, max: 3, integer: true },
    legend: [
      { symbol: "line", color: "#000000", label: "a & b" },
      ...Array.from({ length: 12 }, (_, i) => ({ symbol: "swatch" as const, label: `entry number ${i}` })),
    ],
  });
  assert.deepEqual(frame.ticks.y, [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(frame.ticks.y2, [0, 1, 2, 3]);
  assert.equal(frame.y(100), frame.plot.top);
  assert.equal(frame.y2!(3), frame.plot.top);
  assert.equal(frame.x(1), frame.plot.right);
  const svg = svgDocument({
    width: frame.width,
    height: frame.height,
    title: "t",
    body: frame.grid + frame.axes,
  });
  const root = assertValidSvg(svg);
  const texts = allText(root);
  assert.ok(texts.includes(NASTY_TITLE));
  assert.ok(texts.includes("x <unit>"));
  assert.ok(texts.includes("a & b"));
  for (const label of ["0", "20", "100", "0.2", "0.4"]) assert.ok(texts.includes(label), label);
  const legend = findAll(root, "g").find((g) => g.attrs.class === "legend")!;
  const legendTexts = findAll(legend, "text");
  assert.equal(legendTexts.length, 13);
  for (const t of legendTexts) {
    const y = Number(t.attrs.y);
    assert.ok(y > frame.plot.bottom + 30 && y < frame.height, `legend text at y=${y}`);
    assert.ok(Number(t.attrs.x) >= 0 && Number(t.attrs.x) < frame.width);
  }
  // Many entries must wrap into several rows rather than run off the right edge.
  assert.ok(new Set(legendTexts.map((t) => t.attrs.y)).size > 1);
});

Deno.test("plotFrame thins x ticks so wide labels do not collide", () => {
  const frame = plotFrame({
    title: "t",
    x: { title: "x", min: 1234560, max: 1234567.5 },
    y: { title: "y", min: 0, max: 1 },
  });
  const ticks = frame.ticks.x;
  const spacing = frame.x(ticks[1]) - frame.x(ticks[0]);
  const widest = Math.max(...ticks.map((t) => formatTick(t, ticks[1] - ticks[0]).length)) * 11 * 0.6;
  assert.ok(spacing >= widest, `spacing ${spacing} < label width ${widest}`);
});

Deno.test("plotFrame wraps an over-long legend entry instead of running off the canvas", () => {
  const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const frame = plotFrame({
    title: "t",
    x: { title: "x", min: 0, max: 1 },
    y: { title: "y", min: 0, max: 1 },
    legend: [{ symbol: "none", label: long }, { symbol: "line", label: "after" }],
  });
  const root = assertValidSvg(
    svgDocument({ width: frame.width, height: frame.height, title: "t", body: frame.axes }),
  );
  const legend = findAll(root, "g").find((g) => g.attrs.class === "legend")!;
  const texts = findAll(legend, "text");
  assert.ok(texts.length > 2, `${texts.length} legend lines`);
  assert.equal(texts.slice(0, -1).map((t) => t.text).join(" "), long);
  for (const t of texts) {
    assert.ok(Number(t.attrs.x) + t.text.length * FONT_SIZE * 0.6 <= frame.width, t.text);
    assert.ok(Number(t.attrs.y) < frame.height);
  }
  // The entry after the wrapped one starts on a row of its own.
  const ys = texts.map((t) => Number(t.attrs.y));
  assert.equal(new Set(ys).size, ys.length);
});
