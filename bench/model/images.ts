/**
 * Images as the model sees them: decoded once per run with sharp, resized to side × side RGB and kept
 * as bytes (HWC); a batch is converted to float CHW in [−1, 1] and uploaded as [B, 3, side, side].
 *
 * @module
 */

import { join } from "node:path";
import sharp from "sharp";
import type { PreparedDataset, Sample } from "../../datasets/format.ts";
import { InputError } from "../core/errors.ts";
import { progress } from "../core/progress.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { type Tensor, tensorFrom } from "../gpu/tensor.ts";

/** N images of side × side × 3 bytes each, row-major HWC. */
export interface ImageSet {
  side: number;
  count: number;
  pixels: Uint8Array;
}

/**
 * Decodes and resizes the images of `samples` (paths relative to the dataset directory).
 *
 * @throws {InputError} Naming the sample whose image is missing or unreadable.
 */
export async function loadImages(
  dataset: PreparedDataset,
  samples: readonly Sample[],
  side: number,
  options: { quiet?: boolean; label?: string } = {},
): Promise<ImageSet> {
  const bytes = side * side * 3;
  const pixels = new Uint8Array(samples.length * bytes);
  const bar = progress(options.label ?? "images", samples.length, { quiet: options.quiet, unit: "images" });
  const concurrency = 8;
  for (let start = 0; start < samples.length; start += concurrency) {
    await Promise.all(
      samples.slice(start, start + concurrency).map(async (s, j) => {
        if (!s.image) {
          throw new InputError(`sample ${s.id} has no image`, { file: join(dataset.dir, "manifest.json") });
        }
        const file = join(dataset.dir, s.image);
        let raw: Uint8Array;
        try {
          raw = await sharp(file).resize(side, side, { fit: "fill" }).removeAlpha().raw().toBuffer();
        } catch (e) {
          throw new InputError(`image of sample ${s.id} cannot be read: ${(e as Error).message}`, { file });
        }
        pixels.set(raw.subarray(0, bytes), (start + j) * bytes);
      }),
    );
    bar.tick(Math.min(concurrency, samples.length - start));
  }
  bar.done();
  return { side, count: samples.length, pixels };
}

/** Uploads images `indices` of a set as a float tensor [B, 3, side, side] with values in [−1, 1]. */
export function imageBatch(rt: Runtime, set: ImageSet, indices: readonly number[]): Tensor {
  const { side } = set, plane = side * side, bytes = plane * 3;
  const data = new Float32Array(indices.length * bytes);
  indices.forEach((idx, b) => {
    const src = idx * bytes, dst = b * bytes;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) data[dst + c * plane + p] = set.pixels[src + p * 3 + c] / 127.5 - 1;
    }
  });
  return tensorFrom(rt, data, [indices.length, 3, side, side]);
}
