/**
 * A tiny SVG toolkit for the standalone result figures: escaping, scales, nice ticks, number
 * formatting, a plot frame (axes, grid, titles, legend) and the document wrapper. Output is plain
 * SVG 1.1 with no scripts, external fonts or stylesheets, and is a pure function of its input.
 *
 * @module
 */

/** A shot region of the label axis. */
export type Region = "many" | "medium" | "few";

/**
 * Line and marker colours (Okabe-Ito, colour-blind friendly). "all" is a neutral dark grey so it
 * never reads as a fourth region.
 */
export const REGION_COLORS: Readonly<Record<Region | "all", string>> = {
  all: "#3a3a3a",
  many: "#0072b2",
  medium: "#e69f00",
  few: "#d55e00",
};

/** Mixes a `#rrggbb` colour with white; `amount` is the share of the colour kept (0..1). */
export function tint(hex: string, amount: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (m === null) throw new RangeError(`tint: expected #rrggbb, got ${JSON.stringify(hex)}`);
  const rgb = parseInt(m[1], 16);
  const a = Math.min(1, Math.max(0, amount));
  const channels = [16, 8, 0].map((shift) => {
    const c = (rgb >> shift) & 0xff;
    return Math.round(255 - (255 - c) * a).toString(16).padStart(2, "0");
  });
  return `#${channels.join("")}`;
}

/** Light background tints of the region colours, for shading label ranges behind data. */
export const REGION_TINTS: Readonly<Record<Region, string>> = {
  many: tint(REGION_COLORS.many, 0.13),
  medium: tint(REGION_COLORS.medium, 0.18),
  few: tint(REGION_COLORS.few, 0.15),
};

/** Base font size in px; tick labels use one px less. */
export const FONT_SIZE = 12;

/**
 * Escapes text for use in XML content and attribute values. Characters that XML 1.0 forbids even
 * when escaped (most C0 controls, lone surrogates) become U+FFFD so the document stays well-formed.
 */
export function escapeXml(text: string): string {
  let out = "";
  for (const ch of text.toWellFormed()) {
    const code = ch.codePointAt(0)!;
    switch (ch) {
      case "&":
        out += "&amp;";
        break;
      case "<":
        out += "&lt;";
        break;
      case ">":
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case "'":
        out += "&apos;";
        break;
      default:
        out += (code < 0x20 && code !== 0x9 && code !== 0xa && code !== 0xd) || code === 0xfffe ||
            code === 0xffff
          ? "\ufffd"
          : ch;
    }
  }
  return out;
}

/** A function mapping data values to pixel positions. */
export type Scale = (value: number) => number;

/**
 * A linear map from `domain` to `range`. A degenerate domain maps everything to the middle of the
 * range instead of dividing by zero.
 */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d0 === d1) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (value) => r0 + (value - d0) * k;
}

/** The smallest step of the form {1, 2, 5} x 10^k that splits `span` into at most about `count` parts. */
export function niceStep(span: number, count: number): number {
  const raw = Math.abs(span) / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  // The small tolerance keeps e.g. 0.2/1 (= 2.0000000000000004 after division) on the "2" step.
  const factor = norm <= 1 + 1e-9 ? 1 : norm <= 2 + 1e-9 ? 2 : norm <= 5 + 1e-9 ? 5 : 10;
  return factor * magnitude;
}

/** Number of decimals needed to print multiples of a nice `step` exactly. */
export function stepDecimals(step: number): number {
  if (!(step > 0) || !Number.isFinite(step)) return 0;
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Options of {@linkcode niceTicks}. */
export interface TickOptions {
  /** Target number of intervals (default 5); the result has about this many plus one ticks. */
  count?: number;
  /** Never use a step below 1, e.g. for sample counts. */
  integer?: boolean;
}

/**
 * Nice tick values covering `[min, max]`: multiples of a {1, 2, 5} x 10^k step, starting at or below
 * `min` and ending at or above `max`, so the first and last tick make a good axis domain. Non-finite
 * input falls back to [0, 1]; an empty range is widened so the axis still has extent.
 */
export function niceTicks(min: number, max: number, options: TickOptions = {}): number[] {
  let lo = Number.isFinite(min) ? min : 0;
  let hi = Number.isFinite(max) ? max : lo + 1;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    // Zero is the common case (all-zero errors) and should read as [0, 1], not [-1, 1].
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    if (lo === 0) hi = 1;
    else [lo, hi] = [lo - pad, hi + pad];
  }
  let step = niceStep(hi - lo, options.count ?? 5);
  if (options.integer) step = Math.max(1, step);
  const decimals = stepDecimals(step);
  // Integer multiples of the step avoid the drift of repeated addition; the tolerance stops 0.3/0.1
  // from adding a spurious extra tick.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(roundTo(k * step, decimals));
  return ticks;
}

function roundTo(value: number, decimals: number): number {
  const rounded = Number(value.toFixed(Math.min(decimals, 100)));
  return rounded === 0 ? 0 : rounded; // no -0
}

/**
 * Formats a tick value with just the decimals its tick step needs (so 0.1 + 0.2 prints as "0.3").
 * `step` defaults to a guess from the value itself.
 */
export function formatTick(value: number, step?: number): string {
  if (!Number.isFinite(value)) return "";
  const decimals = step !== undefined ? stepDecimals(step) : Math.min(12, decimalsOf(value));
  return roundTo(value, decimals).toFixed(decimals);
}

function decimalsOf(value: number): number {
  const text = String(Number(value.toPrecision(12)));
  if (text.includes("e")) return 0;
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** Formats a measured value (e.g. an MAE) to `significant` digits, without exponent for ordinary sizes. */
export function formatNumber(value: number, significant = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  if (Math.abs(value) >= 10 ** significant) return formatCount(Math.round(value));
  const text = String(Number(value.toPrecision(significant)));
  return text === "-0" ? "0" : text;
}

/** Formats an integer count with "," thousands separators (locale-independent, for determinism). */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return String(count);
  const sign = count < 0 ? "-" : "";
  const digits = String(Math.round(Math.abs(count)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Formats a pixel coordinate for an attribute, rounded to 0.01 px. Throws on NaN or Infinity so a
 * bug can never leave a silently broken figure behind.
 */
export function num(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`svg: non-finite coordinate ${value}`);
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

/**
 * An SVG element as a string. Attribute values are escaped and `undefined` ones left out; `content`
 * goes in as is, so callers pass built SVG or text already run through {@linkcode escapeXml}.
 */
export function el(
  name: string,
  attrs: Readonly<Record<string, string | number | undefined>>,
  content?: string,
): string {
  let text = `<${name}`;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    text += ` ${key}="${typeof value === "number" ? num(value) : escapeXml(value)}"`;
  }
  return content === undefined ? `${text}/>` : `${text}>${content}</${name}>`;
}

/** Approximate rendered width of `text` in px; generous so labels never end up overlapping. */
export function textWidth(text: string, fontSize: number = FONT_SIZE): number {
  return [...text].length * fontSize * 0.6;
}

/** One axis: its title and the data range it must cover (the frame picks nice ticks). */
export interface AxisSpec {
  /** Axis title, e.g. "MAE (years)". */
  title: string;
  /** Smallest data value to show. */
  min: number;
  /** Largest data value to show. */
  max: number;
  /** Integer ticks only (sample counts). */
  integer?: boolean;
}

/** One legend entry. `symbol: "none"` makes a plain note line, e.g. how to read the figure. */
export interface LegendItem {
  /** Text of the entry. */
  label: string;
  /** Symbol drawn before the text. */
  symbol: "line" | "dashed" | "point" | "swatch" | "none";
  /** Symbol colour. */
  color?: string;
  /** Swatch outline, for light swatches that would vanish on white. */
  stroke?: string;
}

/** Input of {@linkcode plotFrame}. */
export interface FrameSpec {
  /** Figure title, drawn above the plot. */
  title: string;
  /** Horizontal axis. */
  x: AxisSpec;
  /** Left vertical axis. */
  y: AxisSpec;
  /** Optional right vertical axis with its own scale. */
  y2?: AxisSpec;
  /** Legend entries, laid out below the plot so they never cover data. */
  legend?: readonly LegendItem[];
  /** Total figure width in px (default 760). */
  width?: number;
  /** Height of the plot area in px (default 360). */
  plotHeight?: number;
}

/** A laid-out plot: sizes, scales and the frame's SVG split into the layers around the data. */
export interface Frame {
  /** Total figure width in px. */
  width: number;
  /** Total figure height in px. */
  height: number;
  /** The plot area in px. */
  plot: { left: number; top: number; right: number; bottom: number };
  /** Horizontal scale (data to px). */
  x: Scale;
  /** Left vertical scale. */
  y: Scale;
  /** Right vertical scale, when `y2` was given. */
  y2?: Scale;
  /** Tick values chosen per axis. */
  ticks: { x: number[]; y: number[]; y2?: number[] };
  /** Grid lines; draw before the data. */
  grid: string;
  /** Axes, tick labels, titles and legend; draw after the data. */
  axes: string;
}

const TICK_FONT = FONT_SIZE - 1;
const TICK_LEN = 5;
const LEGEND_ROW = 18;
const AXIS_COLOR = "#444444";
const GRID_COLOR = "#e3e3e3";

/**
 * Lays out a plot with a title, axes with nice ticks, axis titles and a legend below the x axis,
 * and returns the scales to draw data with. Tick counts adapt to the space so labels don't collide.
 */
export function plotFrame(spec: FrameSpec): Frame {
  const width = spec.width ?? 760;
  const plotHeight = spec.plotHeight ?? 360;
  const yTicks = axisTicks(spec.y, plotHeight);
  const y2Ticks = spec.y2 ? axisTicks(spec.y2, plotHeight) : undefined;

  const top = 40;
  const left = 20 + 8 + maxLabelWidth(yTicks) + TICK_LEN + 6;
  const right = y2Ticks ? TICK_LEN + 6 + maxLabelWidth(y2Ticks) + 8 + 20 : 24;
  const plotRight = width - right;
  const plotWidth = Math.max(40, plotRight - left);
  const xTicks = axisTicksFitting(spec.x, plotWidth);
  const bottom = top + plotHeight;

  const legend = layoutLegend(spec.legend ?? [], left, width - 12);
  const legendTop = bottom + TICK_LEN + 18 + 22;
  const height = Math.ceil(legendTop + legend.rows * LEGEND_ROW + 8);

  const x = linearScale(domainOf(xTicks), [left, left + plotWidth]);
  const y = linearScale(domainOf(yTicks), [bottom, top]);
  const y2 = y2Ticks ? linearScale(domainOf(y2Ticks), [bottom, top]) : undefined;
  const plot = { left, top, right: left + plotWidth, bottom };

  const grid = yTicks.map((t) =>
    el("line", { x1: plot.left, x2: plot.right, y1: y(t), y2: y(t), stroke: GRID_COLOR, "stroke-width": 1 })
  ).join("");

  const parts: string[] = [];
  // Long titles shrink (down to the base size) before they would run off the canvas.
  const titleSize = Math.max(
    FONT_SIZE,
    Math.min(FONT_SIZE + 3, (width - 24) / (textWidth(spec.title, 1) * 1.05)),
  );
  parts.push(el("text", {
    x: width / 2,
    y: 24,
    "text-anchor": "middle",
    "font-size": titleSize,
    "font-weight": "bold",
  }, escapeXml(spec.title)));

  // Axis lines: bottom, left, and right only when there is a right axis (an open right side reads
  // as "no scale here").
  const axisLine = (x1: number, y1: number, x2: number, y2v: number) =>
    el("line", { x1, y1, x2, y2: y2v, stroke: AXIS_COLOR, "stroke-width": 1 });
  parts.push(axisLine(plot.left, plot.bottom, plot.right, plot.bottom));
  parts.push(axisLine(plot.left, plot.top, plot.left, plot.bottom));
  if (y2) parts.push(axisLine(plot.right, plot.top, plot.right, plot.bottom));

  const xStep = stepOf(xTicks);
  for (const t of xTicks) {
    parts.push(axisLine(x(t), plot.bottom, x(t), plot.bottom + TICK_LEN));
    parts.push(tickLabel(x(t), plot.bottom + TICK_LEN + 12, "middle", formatTick(t, xStep)));
  }
  const yStep = stepOf(yTicks);
  for (const t of yTicks) {
    parts.push(axisLine(plot.left - TICK_LEN, y(t), plot.left, y(t)));
    parts.push(tickLabel(plot.left - TICK_LEN - 3, y(t) + 4, "end", formatTick(t, yStep)));
  }
  if (y2 && y2Ticks) {
    const y2Step = stepOf(y2Ticks);
    for (const t of y2Ticks) {
      parts.push(axisLine(plot.right, y2(t), plot.right + TICK_LEN, y2(t)));
      parts.push(tickLabel(plot.right + TICK_LEN + 3, y2(t) + 4, "start", formatTick(t, y2Step)));
    }
  }

  parts.push(el("text", {
    x: (plot.left + plot.right) / 2,
    y: plot.bottom + TICK_LEN + 32,
    "text-anchor": "middle",
    "font-size": FONT_SIZE,
  }, escapeXml(spec.x.title)));
  parts.push(verticalTitle(14, (plot.top + plot.bottom) / 2, spec.y.title));
  if (spec.y2) parts.push(verticalTitle(width - 8, (plot.top + plot.bottom) / 2, spec.y2.title));
  parts.push(legend.draw(legendTop));

  return {
    width,
    height,
    plot,
    x,
    y,
    y2,
    ticks: { x: xTicks, y: yTicks, y2: y2Ticks },
    grid: el("g", { class: "grid" }, grid),
    axes: el("g", { class: "axes" }, parts.join("\n")),
  };
}

function axisTicks(axis: AxisSpec, length: number): number[] {
  return niceTicks(axis.min, axis.max, {
    count: Math.max(2, Math.floor(length / 60)),
    integer: axis.integer,
  });
}

/** Fewer ticks until the widest x tick label fits between neighbours. */
function axisTicksFitting(axis: AxisSpec, length: number): number[] {
  let count = Math.max(2, Math.floor(length / 70));
  for (;;) {
    const ticks = niceTicks(axis.min, axis.max, { count, integer: axis.integer });
    const spacing = length / Math.max(1, ticks.length - 1);
    if (count <= 2 || maxLabelWidth(ticks) + 10 <= spacing) return ticks;
    count--;
  }
}

function stepOf(ticks: readonly number[]): number | undefined {
  return ticks.length > 1 ? ticks[1] - ticks[0] : undefined;
}

function domainOf(ticks: readonly number[]): [number, number] {
  return [ticks[0], ticks[ticks.length - 1]];
}

function maxLabelWidth(ticks: readonly number[]): number {
  const step = stepOf(ticks);
  return Math.max(0, ...ticks.map((t) => textWidth(formatTick(t, step), TICK_FONT)));
}

function tickLabel(x: number, y: number, anchor: string, text: string): string {
  return el(
    "text",
    { x, y, "text-anchor": anchor, "font-size": TICK_FONT, fill: AXIS_COLOR },
    escapeXml(text),
  );
}

function verticalTitle(x: number, y: number, text: string): string {
  return el("text", {
    x,
    y,
    transform: `rotate(-90 ${num(x)} ${num(y)})`,
    "text-anchor": "middle",
    "dominant-baseline": "middle",
    "font-size": FONT_SIZE,
  }, escapeXml(text));
}

/**
 * Flows legend entries left to right, wrapping into rows within `[left, right]`. An entry too long
 * for a whole row (long method names) is broken at spaces onto continuation rows.
 */
function layoutLegend(items: readonly LegendItem[], left: number, right: number) {
  const placed: { item: LegendItem; x: number; row: number; lines: string[] }[] = [];
  let x = left;
  let row = 0;
  for (const item of items) {
    const indent = item.symbol === "none" ? 0 : 26;
    const lines = wrapText(item.label, right - left - indent);
    const w = indent + Math.max(...lines.map((l) => textWidth(l))) + 20;
    if (x > left && x + w > right) {
      row++;
      x = left;
    }
    placed.push({ item, x, row, lines });
    if (lines.length > 1) {
      row += lines.length;
      x = left;
    } else {
      x += w;
    }
  }
  const last = placed[placed.length - 1];
  const rows = last === undefined ? 0 : last.row + last.lines.length;
  const draw = (top: number): string =>
    el(
      "g",
      { class: "legend" },
      placed.map(({ item, x, row, lines }) => {
        const cy = top + row * LEGEND_ROW + LEGEND_ROW / 2;
        const textX = item.symbol === "none" ? x : x + 26;
        return legendSymbol(item, x, cy) +
          lines.map((line, i) =>
            el("text", { x: textX, y: cy + 4 + i * LEGEND_ROW, "font-size": FONT_SIZE }, escapeXml(line))
          ).join("");
      }).join(""),
    );
  return { rows, draw };
}

/** Greedy word wrap to an estimated pixel width; a single over-long word stays on its own line. */
function wrapText(text: string, maxWidth: number, fontSize: number = FONT_SIZE): string[] {
  if (textWidth(text, fontSize) <= maxWidth) return [text];
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line === "" ? word : `${line} ${word}`;
    if (line !== "" && textWidth(next, fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = next;
    }
  }
  lines.push(line);
  return lines;
}

function legendSymbol(item: LegendItem, x: number, cy: number): string {
  const color = item.color ?? AXIS_COLOR;
  switch (item.symbol) {
    case "line":
    case "dashed":
      return el("line", {
        x1: x,
        x2: x + 20,
        y1: cy,
        y2: cy,
        stroke: color,
        "stroke-width": 2,
        "stroke-dasharray": item.symbol === "dashed" ? "5 3" : undefined,
      });
    case "point":
      return el("line", { x1: x, x2: x + 20, y1: cy, y2: cy, stroke: color, "stroke-width": 1.5 }) +
        el("circle", { cx: x + 10, cy, r: 3, fill: color });
    case "swatch":
      return el("rect", {
        x: x + 2,
        y: cy - 6,
        width: 16,
        height: 12,
        fill: color,
        stroke: item.stroke,
        "stroke-width": item.stroke ? 1 : undefined,
      });
    case "none":
      return "";
  }
}

/** Input of {@linkcode svgDocument}. */
export interface DocumentSpec {
  /** Width in px. */
  width: number;
  /** Height in px. */
  height: number;
  /** Document title, shown by viewers as tooltip / accessible name. */
  title: string;
  /** Already-built SVG content. */
  body: string;
}

/** Wraps content into a complete standalone SVG document on a white background, ending in a newline. */
export function svgDocument(spec: DocumentSpec): string {
  const { width, height } = spec;
  return `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${num(width)}" height="${
    num(height)
  }" viewBox="0 0 ${num(width)} ${num(height)}" font-family="sans-serif" role="img">` +
    `<title>${escapeXml(spec.title)}</title>` +
    el("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }) +
    `${spec.body}</svg>\n`;
}
