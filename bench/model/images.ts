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
import { FLAT_INDEX, grid } from "../gpu/ops/elementwise.ts";
import type { Program, Runtime } from "../gpu/runtime.ts";
import { Tensor, tensorFrom } from "../gpu/tensor.ts";

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

/** A byte's value in [−1, 1] (float32), the table the conversion kernel looks bytes up in. */
const BYTE_VALUES = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);
const byteTables = new WeakMap<Runtime, Tensor>();

const toFloatProgram: Program = {
  key: "images:to-float",
  code: () =>
    `struct U { n: u32, plane: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  // Output (b, c, p) of [B, 3, side²] reads byte p·3 + c of image b (HWC).
  let per = 3u * u.plane;
  let b = i / per;
  let c = (i % per) / u.plane;
  let p = i % u.plane;
  let k = b * per + p * 3u + c;
  O[i] = T[(W[k / 4u] >> ((k % 4u) * 8u)) & 255u];
}`,
};

/**
 * Uploads images `indices` of a set as a float tensor [B, 3, side, side] with values in [−1, 1]. The bytes
 * travel as they are (a quarter of the floats' size) and a kernel converts them: converting in JavaScript
 * cost about 7 ms per batch of 64 images of 64² on a 2-core machine, a large part of a GPU training step.
 * The kernel looks each byte up in a table computed here, so the values are exactly those of
 * `byte / 127.5 − 1` in float64 rounded to float32, on every adapter.
 */
export function imageBatch(rt: Runtime, set: ImageSet, indices: readonly number[]): Tensor {
  const { side } = set, plane = side * side, per = plane * 3, n = indices.length * per;
  const bytes = new Uint8Array(Math.ceil(n / 4) * 4);
  indices.forEach((idx, b) => bytes.set(set.pixels.subarray(idx * per, (idx + 1) * per), b * per));
  const out = new Tensor(rt, [indices.length, 3, side, side]);
  if (n === 0) return out;
  let table = byteTables.get(rt);
  if (!table) {
    table = tensorFrom(rt, BYTE_VALUES, [256]);
    rt.untrack(table); // kept for the runtime's life, not released with the scope that first needs it
    byteTables.set(rt, table);
  }
  const words = new Tensor(rt, [bytes.length / 4], "u32");
  rt.write(words.buffer, bytes);
  rt.dispatch(
    toFloatProgram,
    [words.buffer, table.buffer, out.buffer],
    grid(n, rt),
    [n, plane, 0, 0],
  );
  words.release();
  return out;
}
