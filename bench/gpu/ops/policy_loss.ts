/**
 * The per-token policy-gradient loss of GRPO and its variants (methods.md §1.5–1.6), fused into one
 * kernel: for every completion token t,
 *
 *   r_t = exp(lp_t − lpOld_t),  ℓ_t = −min(r_t·A_t, clip(r_t, 1 − εlow, 1 + εhigh)·A_t)
 *         + β·(exp(lpRef_t − lp_t) − (lpRef_t − lp_t) − 1)        (Schulman's k3 KL estimator)
 *
 * and the loss is Σ_t w_t·ℓ_t, where the weights carry the mask and the aggregation (`grpo`, `bnpo`,
 * `dr_grpo`: see {@linkcode aggregationWeights}). The gradient flows to lp only. With one update per
 * generation batch lpOld = lp, so r ≡ 1, the clip never binds and the gradient is −w·A plus the KL term.
 *
 * @module
 */

import { record } from "../autograd.ts";
import { f32Bits, type Program } from "../runtime.ts";
import { Tensor } from "../tensor.ts";
import { FLAT_INDEX, grid } from "./elementwise.ts";

const WG = 256;

/** Hyperparameters of {@linkcode policyLoss}. */
export interface PolicyLossOptions {
  /** Lower clip ε (TRL `epsilon`, default 0.2). */
  epsLow?: number;
  /** Upper clip ε (TRL `epsilon_high`, default = epsLow). */
  epsHigh?: number;
  /** KL coefficient β (default 0: no reference needed). */
  beta?: number;
}

const UNIFORMS = `struct U { n: u32, epsLow: f32, epsHigh: f32, beta: f32 }
@group(0) @binding(0) var<uniform> u: U;`;

const TOKEN_LOSS = `fn tokenLoss(lp: f32, old: f32, lref: f32, a: f32) -> vec2f {
  // x: the token's loss; y: its derivative in lp.
  let r = exp(lp - old);
  let unclipped = r * a;
  let clipped = clamp(r, 1.0 - u.epsLow, 1.0 + u.epsHigh) * a;
  var loss = -min(unclipped, clipped);
  var grad = select(0.0, -unclipped, unclipped <= clipped);
  if (u.beta != 0.0) {
    let d = lref - lp;
    loss += u.beta * (exp(d) - d - 1.0);
    grad += u.beta * (1.0 - exp(d));
  }
  return vec2f(loss, grad);
}`;

const forwardProgram: Program = {
  key: "policy-loss:fwd",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> LP: array<f32>;
@group(0) @binding(2) var<storage, read> OLD: array<f32>;
@group(0) @binding(3) var<storage, read> REF: array<f32>;
@group(0) @binding(4) var<storage, read> A: array<f32>;
@group(0) @binding(5) var<storage, read> W: array<f32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;
var<workgroup> part: array<f32, ${WG}>;
${TOKEN_LOSS}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var acc = 0.0;
  for (var i = lid.x; i < u.n; i += ${WG}u) {
    if (W[i] != 0.0) { acc += W[i] * tokenLoss(LP[i], OLD[i], REF[i], A[i]).x; }
  }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { O[0] = part[0]; }
}`,
};

const backwardProgram: Program = {
  key: "policy-loss:bwd",
  code: () =>
    `${UNIFORMS}
@group(0) @binding(1) var<storage, read> LP: array<f32>;
@group(0) @binding(2) var<storage, read> OLD: array<f32>;
@group(0) @binding(3) var<storage, read> REF: array<f32>;
@group(0) @binding(4) var<storage, read> A: array<f32>;
@group(0) @binding(5) var<storage, read> W: array<f32>;
@group(0) @binding(6) var<storage, read> G: array<f32>;
@group(0) @binding(7) var<storage, read_write> D: array<f32>;
${TOKEN_LOSS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${FLAT_INDEX}
  if (i >= u.n) { return; }
  D[i] = select(0.0, G[0] * W[i] * tokenLoss(LP[i], OLD[i], REF[i], A[i]).y, W[i] != 0.0);
}`,
};

/**
 * Σ_t w_t·ℓ_t as the module describes: `lp` [N] (differentiable), and constants `lpOld`, `lpRef`,
 * `advantages` and `weights`, all [N] f32. Pass `lpOld = lp` values (a copy) for one update per batch;
 * `lpRef` is ignored when β = 0. Returns [1].
 */
export function policyLoss(
  lp: Tensor,
  lpOld: Tensor,
  lpRef: Tensor,
  advantages: Tensor,
  weights: Tensor,
  options: PolicyLossOptions = {},
): Tensor {
  const n = lp.size;
  for (
    const [name, t] of [["lpOld", lpOld], ["lpRef", lpRef], ["advantages", advantages], [
      "weights",
      weights,
    ]] as const
  ) {
    if (t.size !== n || t.dtype !== "f32") {
      throw new RangeError(`policyLoss: ${name} [${t.shape}] ${t.dtype} must be ${n} f32 values like lp`);
    }
  }
  const epsLow = options.epsLow ?? 0.2, epsHigh = options.epsHigh ?? epsLow, beta = options.beta ?? 0;
  if (!(epsLow >= 0 && epsHigh >= 0 && beta >= 0)) {
    throw new RangeError(`policyLoss: ε (${epsLow}, ${epsHigh}) and β (${beta}) must be non-negative`);
  }
  const rt = lp.rt;
  const u = [n, f32Bits(epsLow), f32Bits(epsHigh), f32Bits(beta)];
  const out = new Tensor(rt, [1]);
  const inputs = [lp.buffer, lpOld.buffer, lpRef.buffer, advantages.buffer, weights.buffer];
  rt.dispatch(forwardProgram, [...inputs, out.buffer], [1], u);
  return record(out, "policyLoss", [lp], (g) => {
    const d = new Tensor(rt, lp.shape);
    rt.dispatch(backwardProgram, [...inputs, g.buffer, d.buffer], grid(n, rt), u);
    return [d];
  });
}

/** float64 reference of {@linkcode policyLoss}: the loss and its gradient in lp. */
export function referencePolicyLoss(
  lp: ArrayLike<number>,
  lpOld: ArrayLike<number>,
  lpRef: ArrayLike<number>,
  advantages: ArrayLike<number>,
  weights: ArrayLike<number>,
  options: PolicyLossOptions = {},
): { loss: number; grad: Float64Array } {
  const epsLow = options.epsLow ?? 0.2, epsHigh = options.epsHigh ?? epsLow, beta = options.beta ?? 0;
  let loss = 0;
  const grad = new Float64Array(lp.length);
  for (let t = 0; t < lp.length; t++) {
    if (weights[t] === 0) continue;
    const r = Math.exp(lp[t] - lpOld[t]), a = advantages[t];
    const unclipped = r * a, clipped = Math.min(Math.max(r, 1 - epsLow), 1 + epsHigh) * a;
    let l = -Math.min(unclipped, clipped);
    let dl = unclipped <= clipped ? -unclipped : 0;
    if (beta !== 0) {
      const d = lpRef[t] - lp[t];
      l += beta * (Math.exp(d) - d - 1);
      dl += beta * (1 - Math.exp(d));
    }
    loss += weights[t] * l;
    grad[t] = weights[t] * dl;
  }
  return { loss, grad };
}

/** How per-token losses are aggregated (TRL's `loss_type`, methods.md §1.6). */
export type LossAggregation = "grpo" | "bnpo" | "dr_grpo";

/**
 * Per-token weights that turn Σ_t w_t·ℓ_t into the chosen aggregation over `mask` [b sequences × T]
 * (1 for completion tokens up to and including the first EOS): `grpo` averages each sequence over its
 * tokens, then over sequences; `bnpo` averages over all tokens; `dr_grpo` sums and divides by b·T
 * (`maxLength`, the constant normaliser of Dr. GRPO).
 */
export function aggregationWeights(
  mask: ArrayLike<number>,
  sequences: number,
  length: number,
  kind: LossAggregation,
  maxLength = length,
): Float32Array {
  if (mask.length !== sequences * length) {
    throw new RangeError(`aggregationWeights: mask of ${mask.length} is not ${sequences}×${length}`);
  }
  const w = new Float32Array(mask.length);
  let total = 0;
  for (let t = 0; t < mask.length; t++) total += mask[t];
  for (let s = 0; s < sequences; s++) {
    let count = 0;
    for (let t = 0; t < length; t++) count += mask[s * length + t];
    for (let t = 0; t < length; t++) {
      const m = mask[s * length + t];
      w[s * length + t] = kind === "grpo"
        ? m / (sequences * Math.max(1, count))
        : kind === "bnpo"
        ? m / Math.max(1, total)
        : m / (sequences * maxLength);
    }
  }
  return w;
}
