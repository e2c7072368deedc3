/**
 * Seeded, counter-based random numbers on the GPU: Philox-4x32-10 (Salmon et al., SC'11; the generator
 * of cuRAND and PyTorch) of (seed, stream, counter). Every value is a pure function of its index, so
 * results never depend on the dispatch grid, on the order in which invocations run, or on what else
 * was drawn before; a CPU implementation of the same function ({@linkcode philox4x32},
 * {@linkcode uniformValues}) reproduces the GPU's uniforms bit for bit.
 *
 * Layout: the Philox key is the 64-bit seed (low word, high word); the counter is
 * (block, stream, domain, 0), and a block gives four 32-bit words, i.e. four consecutive elements. A
 * word `x` becomes the float `(x >> 8) · 2⁻²⁴`: uniform on the 2²⁴ multiples of 2⁻²⁴ in [0, 1), exact
 * in f32. Domain 0 serves {@linkcode uniform}; domain 1 serves {@linkcode sampleCategorical}, so a
 * sampling step never reuses the numbers of a `uniform` stream with the same seed.
 *
 * @module
 */

import { grid } from "./ops/elementwise.ts";
import { f32Bits, type Program, type Runtime } from "./runtime.ts";
import { Tensor } from "./tensor.ts";

const WG = 256;
/** Threads per row of the sampling kernel. */
const SAMPLE_WG = 64;

/** The domain (third counter word) of {@linkcode uniform}. */
export const DOMAIN_UNIFORM = 0;
/** The domain (third counter word) of the uniforms {@linkcode sampleCategorical} draws. */
export const DOMAIN_SAMPLE = 1;

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (16-bit limbs, as the WGSL does). */
function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * Philox-4x32-10 on the CPU: four uint32 words of `counter` encrypted under the two words of `key`
 * (the Random123 reference: round, then bump the key, ten rounds).
 */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((c) => c >>> 0);
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** The two key words of a seed: a non-negative safe integer, split into low and high 32 bits. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed ${seed} must be a non-negative safe integer`);
  }
  return [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
}

function checkStream(stream: number, what = "stream"): number {
  if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) {
    throw new RangeError(`${what} ${stream} must be an integer in [0, 2^32)`);
  }
  return stream;
}

/**
 * The first `n` uniforms of (seed, stream, domain) computed on the CPU, exactly as the GPU computes
 * them (each value is a multiple of 2⁻²⁴ in [0, 1), so float64 holds the f32 value exactly).
 */
export function uniformValues(n: number, seed: number, stream = 0, domain = DOMAIN_UNIFORM): Float64Array {
  const key = seedKey(seed);
  checkStream(stream);
  checkStream(domain, "domain");
  const out = new Float64Array(n);
  for (let b = 0; b * 4 < n; b++) {
    const words = philox4x32([b, stream, domain, 0], key);
    for (let w = 0; w < 4 && b * 4 + w < n; w++) out[b * 4 + w] = (words[w] >>> 8) * 2 ** -24;
  }
  return out;
}

/** WGSL: Philox-4x32-10 and the word-to-float conversion. */
export const PHILOX_WGSL = `
fn mulhilo(a: u32, b: u32) -> vec2u {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2u(p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}
fn philox(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    if (r > 0u) { k = k + vec2u(${W0}u, ${W1}u); }
    let p0 = mulhilo(${M0}u, c.x);
    let p1 = mulhilo(${M1}u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}
fn toUnit(x: u32) -> f32 { return ldexp(f32(x >> 8u), -24); }`;

const uniformProgram: Program = {
  key: "rng:uniform",
  code: () =>
    `struct U { n: u32, seedLo: u32, seedHi: u32, stream: u32, domain: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
${PHILOX_WGSL}
// One invocation per block of four elements.
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = gid.x + gid.y * nwg.x * ${WG}u;
  if (b * 4u >= u.n) { return; }
  let w = philox(vec4u(b, u.stream, u.domain, 0u), vec2u(u.seedLo, u.seedHi));
  for (var j = 0u; j < 4u; j++) {
    let i = b * 4u + j;
    if (i < u.n) { O[i] = toUnit(w[j]); }
  }
}`,
};

/**
 * A tensor of `shape` filled with uniforms in [0, 1) (24 random bits each) from (seed, stream): element
 * i is word i mod 4 of Philox(counter (⌊i/4⌋, stream, 0, 0), key seed). Equal arguments give equal
 * tensors, and the first elements do not depend on the total size.
 */
export function uniform(rt: Runtime, shape: readonly number[], seed: number, stream = 0): Tensor {
  const [lo, hi] = seedKey(seed);
  checkStream(stream);
  const out = new Tensor(rt, shape);
  if (out.size > 4 * 2 ** 32 - 4) throw new RangeError(`${out.size} uniforms exceed the counter space`);
  const u = [out.size, lo, hi, stream, DOMAIN_UNIFORM, 0, 0, 0];
  rt.dispatch(uniformProgram, [out.buffer], grid(Math.ceil(out.size / 4), rt), u);
  return out;
}

const sampleProgram: Program = {
  key: "rng:categorical",
  code: () =>
    `struct U { rows: u32, v: u32, greedy: u32, temperature: f32, seedLo: u32, seedHi: u32, step: u32, chunk: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<u32>;
${PHILOX_WGSL}
var<workgroup> redV: array<f32, ${SAMPLE_WG}>;
var<workgroup> redI: array<u32, ${SAMPLE_WG}>;
var<workgroup> part: array<f32, ${SAMPLE_WG}>;
var<workgroup> found: u32;

// One workgroup per row; thread t owns the contiguous chunk [t·chunk, (t+1)·chunk) of the vocabulary,
// so every sum below is taken in a fixed order and the result depends only on the row's data.
@compute @workgroup_size(${SAMPLE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }
  let base = row * u.v;
  let lo = min(lid * u.chunk, u.v);
  let hi = min(lo + u.chunk, u.v);
  // Maximum and its first index (ties go to the lower index).
  var m = -3.4028235e38;
  var mi = 0xffffffffu;
  for (var k = lo; k < hi; k++) {
    let x = X[base + k];
    if (x > m || mi == 0xffffffffu) { m = x; mi = k; }
  }
  redV[lid] = m;
  redI[lid] = mi;
  workgroupBarrier();
  for (var s = ${SAMPLE_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = redV[lid + s];
      let oi = redI[lid + s];
      if (oi != 0xffffffffu && (redI[lid] == 0xffffffffu || ov > redV[lid] || (ov == redV[lid] && oi < redI[lid]))) {
        redV[lid] = ov;
        redI[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let rowMax = redV[0];
  if (u.greedy == 1u) {
    if (lid == 0u) { O[row] = redI[0]; }
    return;
  }
  // Unnormalised probabilities exp((x − max) / T), summed per chunk.
  var s = 0.0;
  for (var k = lo; k < hi; k++) { s += exp((X[base + k] - rowMax) / u.temperature); }
  part[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    var z = 0.0;
    for (var t = 0u; t < ${SAMPLE_WG}u; t++) { z += part[t]; }
    let r = toUnit(philox(vec4u(row / 4u, u.step, ${DOMAIN_SAMPLE}u, 0u), vec2u(u.seedLo, u.seedHi))[row % 4u]);
    let goal = r * z;
    // Find the chunk where the running sum passes the target, then the element inside it. Rounding
    // can leave the target just past the last element; the last element of positive mass is then
    // taken.
    var acc = 0.0;
    var t = 0u;
    for (; t < ${SAMPLE_WG - 1}u; t++) {
      if (acc + part[t] > goal) { break; }
      acc += part[t];
    }
    let clo = min(t * u.chunk, u.v);
    let chi = min(clo + u.chunk, u.v);
    var pick = 0xffffffffu;
    var last = 0xffffffffu;
    for (var k = clo; k < chi; k++) {
      let p = exp((X[base + k] - rowMax) / u.temperature);
      if (p > 0.0) { last = k; }
      acc += p;
      if (acc > goal && p > 0.0) { pick = k; break; }
    }
    if (pick == 0xffffffffu) { pick = last; }
    // Only reachable through NaN logits: fall back to the argmax.
    if (pick == 0xffffffffu) { pick = redI[0]; }
    O[row] = pick;
  }
}`,
};

/**
 * Draws one token per row from softmax(logits / temperature) by the inverse CDF with one uniform per
 * row: row r uses word r mod 4 of Philox(counter (⌊r/4⌋, step, 1, 0), key seed). `temperature` 0
 * takes the argmax (the first maximum). The same (seed, step) and logits give the same samples on any
 * grid; rows are independent. Each row needs at least one finite logit; mask tokens with a large
 * negative finite logit (e.g. −1e30), since WGSL does not promise IEEE infinities. Never recorded for
 * autograd.
 *
 * Cost: one 64-thread workgroup per row, three passes over the row (max, sum, then the CDF search in
 * one chunk of ⌈V/64⌉ elements).
 */
export function sampleCategorical(logits: Tensor, temperature: number, seed: number, step: number): Tensor {
  if (logits.dtype !== "f32") throw new TypeError(`logits must be f32, got ${logits.dtype}`);
  if (logits.shape.length !== 2) {
    throw new RangeError(`logits must be [rows, vocab], got [${logits.shape.join(", ")}]`);
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`temperature ${temperature} must be finite and non-negative`);
  }
  const [rows, v] = logits.shape;
  if (v === 0 && rows > 0) throw new RangeError("cannot sample from an empty vocabulary");
  const [lo, hi] = seedKey(seed);
  checkStream(step, "step");
  if (temperature !== 0 && !(Math.fround(temperature) > 0 && Number.isFinite(Math.fround(temperature)))) {
    throw new RangeError(`temperature ${temperature} is outside f32's range; use 0 for the argmax`);
  }
  const rt = logits.rt;
  const out = new Tensor(rt, [rows], "u32");
  const u = [
    rows,
    v,
    temperature === 0 ? 1 : 0,
    f32Bits(temperature),
    lo,
    hi,
    step,
    Math.ceil(v / SAMPLE_WG),
  ];
  rt.dispatch(sampleProgram, [logits.buffer, out.buffer], grid(rows, rt, 1), u);
  return out;
}

/**
 * float64 CPU reference of {@linkcode sampleCategorical} with the same uniforms: row-major logits
 * [rows, vocab]. It agrees with the GPU except where a uniform falls within f32 rounding of a CDF step.
 */
export function sampleCategoricalReference(
  logits: ArrayLike<number>,
  rows: number,
  vocab: number,
  temperature: number,
  seed: number,
  step: number,
): Uint32Array {
  const r = uniformValues(rows, seed, step, DOMAIN_SAMPLE);
  const out = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    let max = -Infinity, arg = 0;
    for (let k = 0; k < vocab; k++) {
      if (logits[i * vocab + k] > max) [max, arg] = [logits[i * vocab + k], k];
    }
    if (temperature === 0) {
      out[i] = arg;
      continue;
    }
    const p = Array.from({ length: vocab }, (_, k) => Math.exp((logits[i * vocab + k] - max) / temperature));
    const goal = r[i] * p.reduce((a, b) => a + b, 0);
    let acc = 0, pick = vocab - 1;
    for (let k = 0; k < vocab; k++) {
      acc += p[k];
      if (acc > goal) {
        pick = k;
        break;
      }
    }
    out[i] = pick;
  }
  return out;
}
