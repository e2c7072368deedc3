import assert from "node:assert/strict";
import { assertAllClose, numericGrad } from "./_testing.ts";
import { FdsState } from "./fds.ts";
import { seededRng } from "../../core/rng.ts";

const K = [0.186251, 0.205248, 0.217003, 0.205248, 0.186251];

// D = 2, buckets 0..4; bucket 1 gets 3 samples, bucket 3 one, the others none.
const FEATS = [1, 10, 2, 14, 6, 12, /* bucket 3 */ 5, -1];
const LABELS = [1, 1, 1.5, 3];

Deno.test("FDS: the kernel is the sum-1 gaussian 5/2 (methods.md §7.2)", () => {
  assertAllClose(FdsState.create({ dims: 1, bucketNum: 5, bucketStart: 0 }).kernel, K, 5e-7);
});

Deno.test("FDS: first update takes the epoch's stats (m = 0), later ones the EMA with m = 0.9", () => {
  const s = FdsState.create({ dims: 2, bucketNum: 5, bucketStart: 0 });
  s.updateFromEpoch(FEATS, LABELS, 0);
  let st = s.stats();
  // Bucket 1: means 3, 12; unbiased variances 7, 4. Bucket 3: one sample, biased variance 0.
  assertAllClose(st.runningMean, [0, 0, 3, 12, 0, 0, 5, -1, 0, 0], 1e-15);
  assertAllClose(st.runningVar, [1, 1, 7, 4, 1, 1, 0, 0, 1, 1], 1e-15);
  s.updateFromEpoch([0, 0, 0, 0], [1, 1], 1);
  st = s.stats();
  assertAllClose(st.runningMean.slice(2, 4), [0.9 * 3, 0.9 * 12], 1e-15);
  assertAllClose(st.runningVar.slice(2, 4), [0.9 * 7, 0.9 * 4], 1e-15);
  assertAllClose(st.runningMean.slice(6, 8), [5, -1], 0); // absent buckets keep their stats
});

Deno.test("FDS: momentum null is the cumulative average 1 − n/tracked", () => {
  const s = FdsState.create({ dims: 1, bucketNum: 5, bucketStart: 0, momentum: null });
  s.updateFromEpoch([2, 4], [1, 1], 0);
  s.updateFromEpoch([9], [1], 1); // factor 1 − 1/3: (1/3)·9 + (2/3)·3 = 5
  assertAllClose(s.stats().runningMean.slice(1, 2), [5], 1e-14);
});

Deno.test("FDS: labels beyond the edges pool into the first and last buckets", () => {
  const s = FdsState.create({ dims: 1, bucketNum: 8, bucketStart: 3 });
  assert.deepEqual([0, 3, 3.9, 4, 7, 7.5, 50].map((y) => s.bucketOf(y)), [0, 0, 0, 1, 4, 4, 4]);
});

Deno.test("FDS: startEpoch freezes and smooths with torch's reflect padding, once per epoch", () => {
  const s = FdsState.create({ dims: 1, bucketNum: 5, bucketStart: 0 });
  const x = [1, 4, 2, 8, 16];
  s.updateFromEpoch(x, [0, 1, 2, 3, 4], 0);
  assert.equal(s.startEpoch(0), false); // the guard: epoch must be this.epoch + 1
  assert.equal(s.startEpoch(1), true);
  assert.equal(s.startEpoch(1), false);
  const padded = [x[2], x[1], ...x, x[3], x[2]];
  const expected = x.map((_, b) => s.kernel.reduce((a, k, t) => a + k * padded[b + t], 0));
  const st = s.stats();
  assertAllClose(st.smoothedMean, expected, 1e-14);
  assertAllClose(st.meanLastEpoch, x, 0);
  // Singletons: variance 0 everywhere, so the smoothed variance is 0 too.
  assertAllClose(st.smoothedVar, [0, 0, 0, 0, 0], 0);
});

Deno.test("FDS: calibrate is the clipped affine, identity where methods.md §7.2 says so", () => {
  // A near-flat 11-wide kernel: its centre weight < 0.1, so the lower clip can engage (with gaussian 5/2
  // the centre weight 0.217 bounds ṽ_b/v_b below, and the 0.1 floor is unreachable).
  const kernel = { kernel: "gaussian" as const, ks: 11, sigma: 20 };
  const s = FdsState.create({ dims: 2, bucketNum: 12, bucketStart: 0, kernel });
  // Bucket 0: big variance in d0, zero in d1; bucket 2: tiny; bucket 4: all-zero variance.
  s.updateFromEpoch(
    [0, 1, 100, 1, /* b2 */ 0, 0, 1e-3, 1e-3, /* b4 */ 7, 7],
    [0, 0, 2, 2, 4],
    0,
  );
  const z = [1, 2, 3, 4, 5, 6, 7, 8];
  const labels = [0, 2, 4, 1];
  // Before startSmooth: identity.
  const before = s.calibrate(z, labels, 0);
  assertAllClose(before.z, z, 0);
  s.startEpoch(1);
  const st = s.stats();
  const c = s.calibrate(z, labels, 1);
  for (const [i, b] of labels.entries()) {
    for (let d = 0; d < 2; d++) {
      const k = b * 2 + d, v = st.varLastEpoch[k];
      let varSum = 0;
      for (let dd = 0; dd < 2; dd++) varSum += st.varLastEpoch[b * 2 + dd];
      const identity = v === 0 || varSum < 1e-10;
      const sc = identity ? 1 : Math.sqrt(Math.min(10, Math.max(0.1, st.smoothedVar[k] / v)));
      const expected = identity
        ? z[i * 2 + d]
        : (z[i * 2 + d] - st.meanLastEpoch[k]) * sc + st.smoothedMean[k];
      assertAllClose([c.scale[i * 2 + d], c.z[i * 2 + d]], [sc, expected], 1e-12);
    }
  }
  // The clip engaged: bucket 0 d0 is shrunk to the floor, bucket 2 stretched to the ceiling.
  assertAllClose([c.scale[0], c.scale[2]], [Math.sqrt(0.1), Math.sqrt(10)], 1e-15);
  assertAllClose([c.scale[1], c.shift[1]], [1, 0], 0); // v = 0 in d1 of bucket 0
  assertAllClose([c.scale[4], c.scale[5], c.shift[4]], [1, 1, 0], 0); // bucket 4: variances sum to 0
  // ∂z'/∂z is the elementwise scale.
  for (let k = 0; k < 8; k++) {
    const g = numericGrad((zz) => s.calibrate(zz, labels, 1).z[k], z);
    assertAllClose(g, z.map((_, j) => (j === k ? c.scale[k] : 0)), 1e-9);
  }
});

Deno.test("FDS: toJSON / fromJSON resume bit-identically", () => {
  const rng = seededRng(7);
  const D = 3, N = 40;
  const feats = () => Float64Array.from({ length: N * D }, () => rng() * 4 - 2);
  const labels = Float64Array.from({ length: N }, () => Math.floor(rng() * 12));
  const a = FdsState.create({ dims: D, bucketNum: 10, bucketStart: 2 });
  a.updateFromEpoch(feats(), labels, 0);
  a.startEpoch(1);
  a.updateFromEpoch(feats(), labels, 1);
  const b = FdsState.fromJSON(JSON.parse(JSON.stringify(a)));
  const f2 = feats();
  for (const s of [a, b]) {
    s.startEpoch(2);
    s.updateFromEpoch(f2, labels, 2);
    s.startEpoch(3);
  }
  assert.deepEqual(b.toJSON(), a.toJSON());
  const z = feats();
  assert.deepEqual(b.calibrate(z, labels, 3), a.calibrate(z, labels, 3));
});

Deno.test("FDS: rejects bad shapes and too few buckets", () => {
  assert.throws(() => FdsState.create({ dims: 1, bucketNum: 2, bucketStart: 0 }), RangeError);
  const s = FdsState.create({ dims: 2, bucketNum: 5, bucketStart: 0 });
  assert.throws(() => s.updateFromEpoch([1, 2, 3], [0, 1], 0), RangeError);
  assert.throws(() => s.calibrate([1, 2, 3], [0, 1], 0), RangeError);
});
