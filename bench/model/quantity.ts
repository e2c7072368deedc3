/**
 * The backbone's auxiliary pretraining task: read a quantity off an image and answer it in `<answer>`
 * tags. Each image shows one horizontal bar whose length is v / labelMax of the canvas width, with
 * v uniform over the integers 0..labelMax (balanced, unlike every benchmark), at a random height,
 * thickness and colour on a random background with pixel noise. Reading a bar's length differs from
 * every benchmark task (counting dots, ages, ratings), so the backbone learns to look at images and to
 * write numbers without ever seeing the target task.
 *
 * @module
 */

import { seededRng } from "../core/rng.ts";
import type { ImageSet } from "./images.ts";

/** A generated pretraining set: images and their integer labels. */
export interface QuantitySet {
  images: ImageSet;
  labels: number[];
}

/** Generates `count` samples at `side` pixels; deterministic in (`seed`, `count`, `side`, `labelMax`). */
export function quantitySet(count: number, side: number, labelMax: number, seed: number): QuantitySet {
  const rng = seededRng(seed ^ 0x9a11);
  const bytes = side * side * 3;
  const pixels = new Uint8Array(count * bytes);
  const labels: number[] = [];
  for (let n = 0; n < count; n++) {
    const v = Math.floor(rng() * (labelMax + 1));
    labels.push(v);
    const bg = [0, 1, 2].map(() => Math.floor(rng() * 256));
    // A bar colour far from the background in at least one channel, so the bar is always visible.
    const fg = bg.map((c) => (c + 96 + Math.floor(rng() * 64)) % 256);
    const thickness = 2 + Math.floor(rng() * Math.max(1, side / 8));
    const top = Math.floor(rng() * (side - thickness));
    const length = Math.round((v / labelMax) * side);
    const base = n * bytes;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const inBar = y >= top && y < top + thickness && x < length;
        for (let c = 0; c < 3; c++) {
          const noise = Math.floor((rng() - 0.5) * 24);
          pixels[base + (y * side + x) * 3 + c] = Math.max(0, Math.min(255, (inBar ? fg[c] : bg[c]) + noise));
        }
      }
    }
  }
  return { images: { side, count, pixels }, labels };
}
