/**
 * A small seeded pseudo-random generator for everything on the CPU that must be reproducible
 * (bootstrap resampling, dataset draws). Not for cryptography.
 *
 * @module
 */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * Creates a seeded generator (sfc32, seeded through splitmix32). The same seed always gives the same
 * stream on every platform, since it uses only 32-bit integer arithmetic.
 */
export function seededRng(seed: number): Rng {
  // State lives in a typed array: closure variables holding uint32 values above 2^30 would be boxed as
  // heap numbers on every update, which makes the generator about ten times slower.
  const state = new Uint32Array(4);
  let s = (Math.trunc(seed) >>> 0) ^ 0x9e3779b9;
  for (let k = 0; k < 4; k++) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    state[k] = z ^ (z >>> 16);
  }
  const next = () => {
    const a = state[0], b = state[1], c = state[2], d = state[3];
    const t = (a + b + d) | 0;
    state[3] = d + 1;
    state[0] = b ^ (b >>> 9);
    state[1] = b + (b << 3);
    state[2] = ((c << 21) | (c >>> 11)) + t;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32 mixes poorly for a few rounds after seeding.
  for (let i = 0; i < 12; i++) next();
  return () => next() / 4294967296;
}

/** A uniform integer in [0, n) from `rng`. */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}
