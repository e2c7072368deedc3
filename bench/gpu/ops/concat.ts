/**
 * Concatenation along the sequence axis, and the row writes a KV cache needs. Both are one kernel that
 * copies a block of rows between [B, S, D] layouts: out[b, dstStart + s, :] = src[b, srcStart + s, :]
 * for s < rows. Concatenation's backward is the same copy in the other direction (a slice).
 *
 * @module
 */

import { record } from "../autograd.ts";
import type { Program } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";

const WG = 256;

// Words are copied as u32, so any 32-bit dtype moves bit for bit (token ids too: read as f32 they would
// be denormals, which a GPU may flush to zero).
const copyRowsProgram: Program = {
  key: "concat:copy-rows",
  code: () =>
    `struct U { n: u32, d: u32, rows: u32, srcS: u32, dstS: u32, srcStart: u32, dstStart: u32, p0: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> O: array<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  let c = i % u.d;
  let s = (i / u.d) % u.rows;
  let b = i / (u.d * u.rows);
  O[(b * u.dstS + u.dstStart + s) * u.d + c] = X[(b * u.srcS + u.srcStart + s) * u.d + c];
}`,
};

/**
 * Copies `rows` rows of width `d` from `src` (viewed as [B, srcS, d], starting at row `srcStart`) into
 * `dst` (viewed as [B, dstS, d], starting at `dstStart`), for every b. Records nothing: a raw kernel.
 */
export function copyRows(
  src: Tensor,
  dst: Tensor,
  view: {
    batch: number;
    d: number;
    rows: number;
    srcS: number;
    dstS: number;
    srcStart: number;
    dstStart: number;
  },
): void {
  const { batch, d, rows, srcS, dstS, srcStart, dstStart } = view;
  if (srcStart + rows > srcS || dstStart + rows > dstS) {
    throw new RangeError(
      `copyRows: rows [${srcStart}, ${srcStart + rows}) of ${srcS} into [${dstStart}, ${
        dstStart + rows
      }) of ${dstS} do not fit`,
    );
  }
  if (src.dtype === "f16" || dst.dtype === "f16" || src.dtype !== dst.dtype) {
    throw new TypeError(`copyRows: needs two tensors of one 32-bit dtype, got ${src.dtype} and ${dst.dtype}`);
  }
  if (src.size < batch * srcS * d || dst.size < batch * dstS * d) {
    throw new RangeError(`copyRows: [${src.shape}] or [${dst.shape}] is smaller than the view`);
  }
  const n = batch * rows * d;
  if (n === 0) return;
  src.rt.dispatch(
    copyRowsProgram,
    [src.buffer, dst.buffer],
    grid(n, src.rt),
    [n, d, rows, srcS, dstS, srcStart, dstStart, 0],
  );
}

/** Concatenates `a` [B, Sa, D] and `b` [B, Sb, D] along the sequence axis: [B, Sa + Sb, D]. Differentiable. */
export function concatSeq(a: Tensor, b: Tensor): Tensor {
  if (
    a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[2]
  ) {
    throw new RangeError(`concatSeq: [${a.shape}] and [${b.shape}] must be [B, S, D] with equal B and D`);
  }
  const [batch, sa, d] = a.shape, sb = b.shape[1], s = sa + sb;
  const out = new Tensor(a.rt, [batch, s, d]);
  copyRows(a, out, { batch, d, rows: sa, srcS: sa, dstS: s, srcStart: 0, dstStart: 0 });
  copyRows(b, out, { batch, d, rows: sb, srcS: sb, dstS: s, srcStart: 0, dstStart: sa });
  return record(out, "concatSeq", [a, b], (g) => {
    const ga = a.requiresGrad ? new Tensor(a.rt, a.shape) : null;
    const gb = b.requiresGrad ? new Tensor(a.rt, b.shape) : null;
    if (ga) copyRows(g, ga, { batch, d, rows: sa, srcS: s, dstS: sa, srcStart: 0, dstStart: 0 });
    if (gb) copyRows(g, gb, { batch, d, rows: sb, srcS: s, dstS: sb, srcStart: sa, dstStart: 0 });
    return [ga, gb];
  });
}
