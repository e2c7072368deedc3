/**
 * `synthetic-dir`: an offline, seeded stand-in for the real benchmarks. Each image shows a number of
 * dots (the label, 0-100) among distractor shapes; the model must estimate the count, which is not
 * written anywhere in the image. The training histogram follows AgeDB-DIR's long tail; the test set is
 * balanced over labels. Nuisance variation (field position and scale, dot size, colours, background,
 * clutter) keeps the task from being solved by a shortcut such as total ink.
 *
 * @module
 */

import { seededRng } from "../bench/core/rng.ts";
import type { DatasetAdapter, RawSample } from "./adapter.ts";
import { AGEDB_DIR_TRAIN_COUNTS } from "./agedb_histogram.ts";

/** Default split sizes. */
export const SYNTHETIC_DEFAULTS = { train: 12_000, test: 2_000, seed: 0 } as const;

/** Labels run 0..100; the shape of the training histogram is AgeDB-DIR's over ages 0..100. */
export const SYNTHETIC_LABELS = 101;

/** Canvas side of the generated SVG, in pixels. */
export const CANVAS = 448;

/**
 * Splits `total` over bins in proportion to `weights`, exactly (largest remainder; ties to the lower
 * bin), so every run with the same inputs gets the same counts.
 */
export function proportionalCounts(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w * total) / sum);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length][1]]++;
  return counts;
}

/** Training counts per label for a training set of `total` samples. */
export function syntheticTrainCounts(total: number): number[] {
  return proportionalCounts(AGEDB_DIR_TRAIN_COUNTS.slice(0, SYNTHETIC_LABELS), total);
}

/** Test counts per label: as equal as possible, the remainder spread by a seeded draw of labels. */
export function syntheticTestCounts(total: number, seed: number): number[] {
  const counts = new Array<number>(SYNTHETIC_LABELS).fill(Math.floor(total / SYNTHETIC_LABELS));
  const labels = Array.from({ length: SYNTHETIC_LABELS }, (_, i) => i);
  const rng = seededRng(seed ^ 0x5eed);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  for (let k = 0; k < total % SYNTHETIC_LABELS; k++) counts[labels[k]]++;
  return counts;
}

const PALETTE = [
  "#d62728",
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#17becf",
  "#8c564b",
  "#e377c2",
  "#111111",
];

function hashSeed(seed: number, id: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The SVG of one sample with `count` dots. Deterministic in (`seed`, `id`). Dots never overlap each
 * other or a distractor, so the count is always recoverable by a careful observer.
 */
export function syntheticSvg(count: number, seed: number, id: string): string {
  const rng = seededRng(hashSeed(seed, id));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)];
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rng();

  // The dot field: a random square covering 55-100% of the canvas side, anywhere on it.
  const side = uniform(0.55, 1) * CANVAS;
  const x0 = uniform(0, CANVAS - side), y0 = uniform(0, CANVAS - side);
  // Dot size shrinks with the count (so 100 dots fit) and varies per image, decoupling ink from count.
  const maxR = Math.min(18, (side / 2) * Math.sqrt(0.35 / Math.max(count, 1)));
  const r = uniform(0.45, 1) * Math.max(maxR, 3);
  const dotColor = pick(PALETTE);
  const clutterColor = pick(PALETTE.filter((c) => c !== dotColor));
  const bg = `hsl(${Math.floor(uniform(0, 360))}, ${Math.floor(uniform(5, 30))}%, ${
    Math.floor(uniform(88, 98))
  }%)`;

  const placed: { x: number; y: number; r: number }[] = [];
  const fits = (x: number, y: number, rr: number) =>
    placed.every((p) => (p.x - x) ** 2 + (p.y - y) ** 2 > (p.r + rr + 2) ** 2);
  const place = (rr: number, within: boolean): { x: number; y: number } | null => {
    for (let attempt = 0; attempt < 400; attempt++) {
      const x = within ? uniform(x0 + rr, x0 + side - rr) : uniform(rr, CANVAS - rr);
      const y = within ? uniform(y0 + rr, y0 + side - rr) : uniform(rr, CANVAS - rr);
      if (fits(x, y, rr)) {
        placed.push({ x, y, r: rr });
        return { x, y };
      }
    }
    return null;
  };

  let dots = "";
  let radius = r;
  for (let i = 0; i < count; i++) {
    let p = place(radius, true);
    // A crowded field: shrink the dots rather than drop one, so the image always shows exactly `count`.
    while (!p) {
      radius *= 0.85;
      p = place(radius, true);
    }
    dots += `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${
      radius.toFixed(1)
    }" fill="${dotColor}"/>`;
  }

  let clutter = "";
  const distractors = Math.floor(uniform(0, 12));
  for (let i = 0; i < distractors; i++) {
    const s = uniform(6, 20);
    const p = place(s * 0.75, false);
    if (!p) continue;
    const angle = uniform(0, 90).toFixed(0);
    clutter += rng() < 0.5
      ? `<rect x="${(p.x - s / 2).toFixed(1)}" y="${(p.y - s / 2).toFixed(1)}" width="${
        s.toFixed(1)
      }" height="${s.toFixed(1)}" fill="${clutterColor}" transform="rotate(${angle} ${p.x.toFixed(1)} ${
        p.y.toFixed(1)
      })"/>`
      : `<path d="M${p.x.toFixed(1)} ${(p.y - s / 2).toFixed(1)}l${(s / 2).toFixed(1)} ${s.toFixed(1)}h${
        (-s).toFixed(1)
      }z" fill="${clutterColor}"/>`;
  }
  const lines = Array.from(
    { length: Math.floor(uniform(0, 4)) },
    () =>
      `<line x1="${uniform(0, CANVAS).toFixed(0)}" y1="${uniform(0, CANVAS).toFixed(0)}" x2="${
        uniform(0, CANVAS).toFixed(0)
      }" y2="${uniform(0, CANVAS).toFixed(0)}" stroke="${clutterColor}" stroke-width="${
        uniform(1, 3).toFixed(1)
      }" opacity="0.5"/>`,
  ).join("");

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CANVAS}" height="${CANVAS}" viewBox="0 0 ${CANVAS} ${CANVAS}">` +
    `<rect width="${CANVAS}" height="${CANVAS}" fill="${bg}"/>${lines}${clutter}${dots}</svg>`;
}

/** The rows of a synthetic dataset: ids, labels and SVG images, deterministic in the seed. */
export function syntheticRows(
  train: number,
  test: number,
  seed: number,
): { train: RawSample[]; test: RawSample[] } {
  const rows = (split: "train" | "test", counts: number[]) => {
    const out: RawSample[] = [];
    counts.forEach((c, label) => {
      for (let k = 0; k < c; k++) {
        const id = `${split}-${String(label).padStart(3, "0")}-${String(k).padStart(5, "0")}`;
        out.push({ id, label, image: { svg: syntheticSvg(label, seed, id) } });
      }
    });
    return out;
  };
  return {
    train: rows("train", syntheticTrainCounts(train)),
    test: rows("test", syntheticTestCounts(test, seed)),
  };
}

/** The `synthetic-dir` adapter. */
export const syntheticDir: DatasetAdapter = {
  id: "synthetic-dir",
  title: "Synthetic-DIR (dot counting)",
  task: "synthetic",
  label: { min: 0, max: 100, unit: "dots", binWidth: 1 },
  source: "generated by dirbench from a seed (no download)",
  licence: "generated data, MIT like dirbench itself",
  defaultSeed: SYNTHETIC_DEFAULTS.seed,
  load(ctx) {
    const train = ctx.sizes.train ?? SYNTHETIC_DEFAULTS.train;
    const test = ctx.sizes.test ?? SYNTHETIC_DEFAULTS.test;
    const rows = syntheticRows(train, test, ctx.seed);
    return Promise.resolve({
      ...rows,
      dropped: [],
      inputs: [],
      protocol: [
        `Each image shows \`label\` dots (0-100) in one colour among 0-11 distractor squares and triangles and up to 3 lines in another colour; the count is not written in the image.`,
        `Nuisance variation per image: the dot field is a square of 55-100% of the ${CANVAS}-pixel canvas at a random position; dot radius shrinks with the count and varies by a factor up to 2.2; dot, clutter and background colours are drawn at random; dots never touch.`,
        `Training labels (${
          train.toLocaleString("en-US")
        }) follow AgeDB-DIR's official training histogram over ages 0-100, scaled to the requested size by largest remainder.`,
        `Test labels (${
          test.toLocaleString("en-US")
        }) are balanced: ⌊${test}/101⌋ per label, the remainder given to labels chosen by a seeded shuffle.`,
        `Everything is a function of the seed (${ctx.seed}) and the sample id: the same seed gives byte-identical SVGs, and with the same sharp/libvips versions byte-identical JPEGs.`,
      ],
    });
  },
};
