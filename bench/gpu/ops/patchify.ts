/**
 * Patchify: cuts images [B, C, H, W] into non-overlapping p×p patches, giving [B, (H/p)·(W/p), C·p·p]
 * (patches in row-major order; inside a patch, channel-major then row then column, the layout of a
 * PyTorch conv weight [D, C, p, p] flattened). A convolution with stride = kernel = p is patchify
 * followed by a matmul with that flattened weight, which is how the VLM embeds images.
 *
 * The map is a permutation of elements, so both directions are plain gathers: forward reads one image
 * element per output element, and backward (the inverse scatter) reads, for each image element, the
 * one gradient element it went to. No two invocations write the same place; no atomics.
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Program } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";

const WG = 256;

function patchifyProgram(backward: boolean): Program {
  return {
    key: `patchify:${backward ? "bwd" : "fwd"}`,
    code: () =>
      `struct U { n: u32, c: u32, h: u32, w: u32, p: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let pw = u.w / u.p;
  let pp = u.p * u.p;
  let feat = u.c * pp;
  let npatch = (u.h / u.p) * pw;
  ${
        backward
          ? `// i indexes the image gradient [B, C, H, W]; read the patch gradient element it maps to.
  let x = i % u.w;
  let y = (i / u.w) % u.h;
  let ch = (i / (u.w * u.h)) % u.c;
  let b = i / (u.w * u.h * u.c);
  let pidx = (y / u.p) * pw + x / u.p;
  let f = ch * pp + (y % u.p) * u.p + x % u.p;
  O[i] = X[(b * npatch + pidx) * feat + f];`
          : `// i indexes the patches [B, N, C·p·p]; read the image element they come from.
  let f = i % feat;
  let pidx = (i / feat) % npatch;
  let b = i / (feat * npatch);
  let ch = f / pp;
  let y = (pidx / pw) * u.p + (f % pp) / u.p;
  let x = (pidx % pw) * u.p + f % u.p;
  O[i] = X[((b * u.c + ch) * u.h + y) * u.w + x];`
      }
}`,
  };
}

/** The output shape of {@linkcode patchify}; throws a RangeError for a bad shape or patch size. */
export function patchifyShape(shape: readonly number[], patch: number): [number, number, number] {
  if (shape.length !== 4) throw new RangeError(`patchify: images must be [B, C, H, W], got [${shape}]`);
  if (!Number.isInteger(patch) || patch < 1) {
    throw new RangeError(`patchify: patch size ${patch} must be a positive integer`);
  }
  const [b, c, h, w] = shape;
  if (h % patch !== 0 || w % patch !== 0) {
    throw new RangeError(`patchify: image ${h}×${w} is not a multiple of the patch size ${patch}`);
  }
  return [b, (h / patch) * (w / patch), c * patch * patch];
}

function run(x: Tensor, outShape: readonly number[], dims: readonly number[], patch: number, bwd: boolean) {
  const out = new Tensor(x.rt, outShape);
  const [, c, h, w] = dims;
  x.rt.dispatch(patchifyProgram(bwd), [x.buffer, out.buffer], grid(out.size, x.rt), [
    out.size,
    c,
    h,
    w,
    patch,
    0,
    0,
    0,
  ]);
  return out;
}

/**
 * Cuts `images` [B, C, H, W] (f32) into p×p patches: [B, (H/p)·(W/p), C·p·p]. Patch n = py·(W/p) + px
 * covers rows py·p… and columns px·p…; its feature c·p² + dy·p + dx is image[b, c, py·p + dy, px·p + dx].
 * H and W must be multiples of p (RangeError otherwise). Differentiable.
 */
export function patchify(images: Tensor, patch: number): Tensor {
  if (images.dtype !== "f32") throw new TypeError(`patchify: expected f32 images, got ${images.dtype}`);
  const shape = patchifyShape(images.shape, patch);
  const dims = [...images.shape];
  const out = run(images, shape, dims, patch, false);
  return record(out, "patchify", [images], (g) => [run(g, dims, dims, patch, true)]);
}

/** float64 CPU reference of {@linkcode patchify} (data in [B, C, H, W] order). */
export function patchifyReference(images: ArrayLike<number>, shape: readonly number[], patch: number) {
  const [b, n, f] = patchifyShape(shape, patch);
  const [, c, h, w] = shape;
  const pw = w / patch;
  const out = new Float64Array(b * n * f);
  let o = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let py = 0; py < h / patch; py++) {
      for (let px = 0; px < pw; px++) {
        for (let ch = 0; ch < c; ch++) {
          for (let dy = 0; dy < patch; dy++) {
            for (let dx = 0; dx < patch; dx++) {
              out[o++] = images[((bi * c + ch) * h + py * patch + dy) * w + px * patch + dx];
            }
          }
        }
      }
    }
  }
  return out;
}
