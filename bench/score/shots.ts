/**
 * Label bins and shot regions. A bin's region comes from its training count c: many if c > manyAbove,
 * few if c < fewBelow (a bin absent from train is few), medium otherwise. A test sample takes the region
 * of its label's bin.
 *
 * @module
 */

import type { LabelSpec, ShotThresholds } from "../../datasets/format.ts";

/** A shot region. */
export type Region = "many" | "medium" | "few";

/** The three regions, in reporting order. */
export const REGIONS: readonly Region[] = ["many", "medium", "few"];

// Labels such as 0.3 with binWidth 0.1 land a hair below their bin edge in floating point;
// this relative slack puts them in the bin they name. It does not move integer labels.
const EDGE_SLACK = 1e-9;

/** The bin index of `label`: `floor((label - min) / binWidth)`, robust to float rounding at bin edges. */
export function binIndex(label: number, spec: Pick<LabelSpec, "min" | "binWidth">): number {
  return Math.floor((label - spec.min) / spec.binWidth + EDGE_SLACK);
}

/** The number of bins covering [min, max]. */
export function binCount(spec: Pick<LabelSpec, "min" | "max" | "binWidth">): number {
  return binIndex(spec.max, spec) + 1;
}

/** The region of a bin with `count` training samples. */
export function regionOfCount(count: number, shots: ShotThresholds): Region {
  if (count > shots.manyAbove) return "many";
  if (count < shots.fewBelow) return "few";
  return "medium";
}

/** Training counts per bin and the region of each bin, for one dataset. */
export interface ShotTable {
  /** The label axis the bins are on. */
  label: LabelSpec;
  /** The thresholds in force. */
  shots: ShotThresholds;
  /** Training samples per bin, indexed by bin (length {@linkcode binCount}). */
  trainCounts: number[];
}

/** Counts training labels per bin. Labels are assumed validated to lie within the label range. */
export function buildShotTable(
  trainLabels: Iterable<number>,
  label: LabelSpec,
  shots: ShotThresholds,
): ShotTable {
  const trainCounts = new Array<number>(binCount(label)).fill(0);
  for (const y of trainLabels) {
    const b = binIndex(y, label);
    if (b >= 0 && b < trainCounts.length) trainCounts[b]++;
  }
  return { label, shots, trainCounts };
}

/** The training count of `label`'s bin (0 outside the label range). */
export function trainCountOf(label: number, table: ShotTable): number {
  return table.trainCounts[binIndex(label, table.label)] ?? 0;
}

/** The region of a test sample with this label. */
export function regionOf(label: number, table: ShotTable): Region {
  return regionOfCount(trainCountOf(label, table), table.shots);
}

/** The label interval [lo, hi) of a bin. */
export function binBounds(bin: number, spec: Pick<LabelSpec, "min" | "binWidth">): [number, number] {
  return [spec.min + bin * spec.binWidth, spec.min + (bin + 1) * spec.binWidth];
}
