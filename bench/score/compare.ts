/**
 * Paired comparison of two results on the same test set: per region, the difference in MAE (B − A) with
 * a paired bootstrap interval and a two-sided p-value, plus the per-bin MAE gain of B over A.
 *
 * @module
 */

import { seededRng } from "../core/rng.ts";
import { InputError } from "../core/errors.ts";
import {
  type BootstrapSettings,
  DEFAULT_BOOTSTRAP,
  type Interval,
  percentileInterval,
  resampleCounts,
} from "./bootstrap.ts";
import type { Results } from "./results.ts";
import type { BinMetrics } from "./score.ts";
import { binIndex, type Region, REGIONS } from "./shots.ts";

/** One region's paired comparison. Null fields mean the region has no shared samples. */
export interface RegionComparison {
  /** Shared test samples in the region. */
  n: number;
  /** MAE of A on them. */
  maeA: number | null;
  /** MAE of B on them. */
  maeB: number | null;
  /** MAE(B) − MAE(A): negative means B is better. */
  diff: number | null;
  /** Paired bootstrap interval of `diff`. */
  ci: Interval | null;
  /** Two-sided p-value of "no difference" from the centred bootstrap distribution. */
  p: number | null;
}

/** One bin's MAE for A and B and the gain MAE(A) − MAE(B) (positive means B is better). */
export type BinComparison = Omit<BinMetrics, "mae"> & {
  /** MAE of A on the bin's shared samples. */
  maeA: number | null;
  /** MAE of B on them. */
  maeB: number | null;
  /** MAE(A) − MAE(B). */
  gain: number | null;
};

/** A comparison report, as `deno task compare --out` writes it. */
export interface Comparison {
  format: "dirbench.compare/1";
  dataset: { id: string; testSha256: string };
  a: { method: string };
  b: { method: string };
  /** Number of test ids both results score. */
  shared: number;
  regions: Record<Region | "all", RegionComparison>;
  bins: BinComparison[];
  bootstrap: BootstrapSettings & { method: "paired-percentile"; strata: "region" };
  /** Things the reader should know, e.g. that the two results used different training splits. */
  warnings: string[];
}

/**
 * Resample multiplicities kept between comparisons, by stratum seed, stratum size and resample count. The
 * draws depend on nothing else (not on the errors), so every comparison of results on one test split uses
 * the same ones: keeping them gives exactly the numbers of drawing anew, and a comparison costs one pass of
 * multiply-adds instead of `resamples × n` random draws. One byte per multiplicity (a draw with a
 * multiplicity over 255 is not kept); at most {@linkcode DRAW_CACHE_BYTES} in all, oldest dropped first.
 */
const drawCache = new Map<string, Uint8Array>();
const DRAW_CACHE_BYTES = 64 * 1024 * 1024;
let drawCacheBytes = 0;

function storedDraws(seed: number, n: number, resamples: number): Uint8Array | null {
  const key = `${seed}|${n}|${resamples}`;
  const hit = drawCache.get(key);
  if (hit) return hit;
  if (n * resamples > DRAW_CACHE_BYTES) return null;
  const out = new Uint8Array(n * resamples);
  const counts = new Int32Array(n);
  const rng = seededRng(seed);
  for (let b = 0; b < resamples; b++) {
    resampleCounts(counts, rng);
    for (let i = 0; i < n; i++) {
      if (counts[i] > 255) return null;
      out[b * n + i] = counts[i];
    }
  }
  for (const [k, v] of drawCache) {
    if (drawCacheBytes + out.length <= DRAW_CACHE_BYTES) break;
    drawCache.delete(k);
    drawCacheBytes -= v.length;
  }
  drawCache.set(key, out);
  drawCacheBytes += out.length;
  return out;
}

/**
 * Compares A and B over the test ids both contain. Refuses results scored on different test sets (their
 * test-file SHA-256 differ). Regions and bins are taken from A.
 */
export function compareResults(
  a: Results,
  b: Results,
  settings: Partial<BootstrapSettings> = {},
  names: { a: string; b: string } = { a: "A", b: "B" },
): Comparison {
  if (a.dataset.testSha256 !== b.dataset.testSha256) {
    throw new InputError(
      `${names.a} and ${names.b} were scored on different test sets ` +
        `(${a.dataset.id} test sha256 ${a.dataset.testSha256.slice(0, 12)}… vs ` +
        `${b.dataset.id} test sha256 ${
          b.dataset.testSha256.slice(0, 12)
        }…); a paired comparison needs the same one`,
    );
  }
  const bootstrap = { ...DEFAULT_BOOTSTRAP, ...settings };
  const warnings: string[] = [];
  if (a.dataset.trainSha256 !== b.dataset.trainSha256) {
    warnings.push("the training splits differ, so shot regions may differ; regions and bins are A's");
  }
  if (a.policy.parse !== b.policy.parse) {
    warnings.push(`parse policies differ (${a.policy.parse} vs ${b.policy.parse})`);
  }
  const bErrors = new Map(b.samples.map((s) => [s.id, s.absError]));
  const shared = a.samples.filter((s) => bErrors.has(s.id)).map((s) => ({
    region: s.region,
    label: s.label,
    errA: s.absError,
    errB: bErrors.get(s.id)!,
  }));

  // Paired and stratified: each region's per-sample differences (B − A) are resampled on their own
  // stream, so both methods always see the same draw; "all" adds the regions' resampled sums.
  const strata = REGIONS.map((region, k) => {
    const rows = shared.filter((r) => r.region === region);
    const d = Float64Array.from(rows, (r) => r.errB - r.errA);
    const n = d.length;
    const sums = new Float64Array(bootstrap.resamples);
    const seed = bootstrap.seed * 4 + k + 1;
    const drawn = n > 0 ? storedDraws(seed, n, bootstrap.resamples) : null;
    if (drawn) {
      for (let b = 0, off = 0; b < bootstrap.resamples; b++, off += n) {
        let s = 0;
        for (let i = 0; i < n; i++) s += drawn[off + i] * d[i];
        sums[b] = s;
      }
    } else {
      const counts = new Int32Array(n);
      const rng = seededRng(seed);
      for (let b = 0; n > 0 && b < bootstrap.resamples; b++) {
        resampleCounts(counts, rng);
        let s = 0;
        for (let i = 0; i < n; i++) s += counts[i] * d[i];
        sums[b] = s;
      }
    }
    return { region, rows, sums };
  });
  const summarise = (picked: typeof strata): RegionComparison => {
    const n = picked.reduce((t, s) => t + s.rows.length, 0);
    if (n === 0) return { n: 0, maeA: null, maeB: null, diff: null, ci: null, p: null };
    let sumA = 0, sumB = 0;
    for (const { rows } of picked) {
      for (const r of rows) {
        sumA += r.errA;
        sumB += r.errB;
      }
    }
    const diff = (sumB - sumA) / n;
    const stats = new Float64Array(bootstrap.resamples);
    let extreme = 0;
    for (let b = 0; b < stats.length; b++) {
      for (const { sums } of picked) stats[b] += sums[b];
      stats[b] /= n;
      // Centring the bootstrap distribution on 0 gives the null distribution of the mean difference.
      if (Math.abs(stats[b] - diff) >= Math.abs(diff)) extreme++;
    }
    return {
      n,
      maeA: sumA / n,
      maeB: sumB / n,
      diff,
      ci: percentileInterval(stats.sort(), bootstrap.level),
      p: (extreme + 1) / (bootstrap.resamples + 1),
    };
  };

  const label = a.dataset.label;
  const binRows = a.metrics.bins.map((bin) => ({ ...bin, n: 0, sumA: 0, sumB: 0 }));
  for (const r of shared) {
    const row = binRows[Math.min(binRows.length - 1, Math.max(0, binIndex(r.label, label)))];
    if (!row) continue;
    row.n++;
    row.sumA += r.errA;
    row.sumB += r.errB;
  }
  const bins = binRows.map(({ bin, lo, hi, trainCount, region, n, sumA, sumB }) => ({
    bin,
    lo,
    hi,
    trainCount,
    region,
    n,
    maeA: n === 0 ? null : sumA / n,
    maeB: n === 0 ? null : sumB / n,
    gain: n === 0 ? null : (sumA - sumB) / n,
  }));

  return {
    format: "dirbench.compare/1",
    dataset: { id: a.dataset.id, testSha256: a.dataset.testSha256 },
    a: { method: a.method.name },
    b: { method: b.method.name },
    shared: shared.length,
    regions: {
      all: summarise(strata),
      many: summarise([strata[0]]),
      medium: summarise([strata[1]]),
      few: summarise([strata[2]]),
    },
    bins,
    bootstrap: { ...bootstrap, method: "paired-percentile", strata: "region" },
    warnings,
  };
}
