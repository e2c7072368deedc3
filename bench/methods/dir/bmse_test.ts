import assert from "node:assert/strict";
import { seededRng } from "../../core/rng.ts";
import { assertAllClose, assertNear, numericGrad } from "./_testing.ts";
import { integerBins } from "./bins.ts";
import {
  bmcLoss,
  bniLoss,
  bniPrior,
  fitGmm1d,
  gaiLoss,
  type Gmm,
  type NoiseLoss,
  noiseSigmaOptions,
} from "./bmse.ts";

const PRED = [21.3, 35.0, 47.9, 30.2, 62.5, 18.0];
const TARGET = [20, 38, 45, 30, 70, 25];
const GMM: Gmm = {
  weights: Float64Array.from([0.5, 0.3, 0.2]),
  means: Float64Array.from([25, 40, 60]),
  variances: Float64Array.from([16, 36, 100]),
};
const PRIOR = {
  centers: Float64Array.from([18, 25, 30, 40, 55, 70]),
  weights: Float64Array.from([0.1, 0.3, 0.25, 0.2, 0.1, 0.05]),
};

const LOSSES: [string, (p: ArrayLike<number>, s: number) => NoiseLoss][] = [
  ["BMC", (p, s) => bmcLoss(p, TARGET, s)],
  ["GAI", (p, s) => gaiLoss(p, TARGET, s, GMM)],
  ["BNI", (p, s) => bniLoss(p, TARGET, s, PRIOR)],
];

Deno.test("Balanced MSE: ∂L/∂ŷ matches central finite differences", () => {
  for (const sigma of [1, 4, 10]) {
    for (const [name, f] of LOSSES) {
      const g = f(PRED, sigma).gradPred;
      const numeric = numericGrad((p) => f(p, sigma).loss, PRED, 1e-5);
      const scale = Math.max(...g.map(Math.abs));
      assertAllClose(g.map((v) => v / scale), numeric.map((v) => v / scale), 1e-8);
      assert.ok(scale > 0, name);
    }
  }
});

Deno.test("Balanced MSE: ∂L/∂σ differentiates everything but the stopgrad(2σ²) factor", () => {
  for (const sigma of [1.5, 4, 10]) {
    for (const [name, f] of LOSSES) {
      const r = f(PRED, sigma);
      // L(σ) = 2σ²·u(σ) with the factor frozen: ∂L/∂σ = 2σ₀²·u'(σ₀).
      const u = (s: number) => f(PRED, s).loss / (2 * s * s);
      const h = 1e-5 * sigma;
      const expected = 2 * sigma * sigma * (u(sigma + h) - u(sigma - h)) / (2 * h);
      assertNear(r.gradSigma / expected, 1, 1e-7);
      assertNear(r.gradLogSigma, sigma * r.gradSigma, 1e-12 * Math.abs(r.gradLogSigma));
      assert.ok(Number.isFinite(r.loss), name);
    }
  }
});

Deno.test("bmcLoss: by hand for two samples", () => {
  // σ = 1: logits rows [0, −½] and [−½, 0]; each CE = log(1 + e^−½); L = 2·mean.
  assertNear(bmcLoss([0, 1], [0, 1], 1).loss, 2 * Math.log(1 + Math.exp(-0.5)), 1e-15);
});

Deno.test("gaiLoss / bniLoss: by hand with one component / one bucket", () => {
  const sigma = 2, v = 4, p = 3, y = 1;
  const one: Gmm = { weights: Float64Array.of(1), means: Float64Array.of(5), variances: Float64Array.of(5) };
  const gai = (p - y) ** 2 / (2 * v) + 0.5 * Math.log(v) - 0.5 * Math.log(9) - (p - 5) ** 2 / 18;
  assertNear(gaiLoss([p], [y], sigma, one).loss, 2 * v * gai, 1e-14);
  const bni = (p - y) ** 2 / (2 * v) - (p - 5) ** 2 / (2 * v);
  assertNear(
    bniLoss([p], [y], sigma, { centers: Float64Array.of(5), weights: Float64Array.of(1) }).loss,
    2 * v * bni,
    1e-14,
  );
});

Deno.test("bniPrior: counts, empty buckets dropped, normalised; LDS-smoothed option", () => {
  const prior = bniPrior([0, 0, 1, 3], integerBins(5));
  assertAllClose(prior.centers, [0, 1, 3], 0);
  assertAllClose(prior.weights, [0.5, 0.25, 0.25], 1e-15);
  const smoothed = bniPrior([0, 0, 1, 3], integerBins(5), { lds: { kernel: "triang", ks: 3, sigma: 0 } });
  // triang(3) = [½, 1, ½]: [2.5, 2, 1, 1, 0.5], sum 7.
  assertAllClose(smoothed.centers, [0, 1, 2, 3, 4], 0);
  assertAllClose(smoothed.weights, [2.5, 2, 1, 1, 0.5].map((w) => w / 7), 1e-15);
});

Deno.test("fitGmm1d: recovers two separated clusters, deterministically, EM never loses likelihood", () => {
  const rng = seededRng(5);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const data = [
    ...Array.from({ length: 600 }, () => 20 + 2 * normal()),
    ...Array.from({ length: 400 }, () => 60 + 5 * normal()),
  ];
  const g = fitGmm1d(data, { components: 2 });
  assertAllClose(g.means, [20, 60], 0.6);
  assertAllClose(g.weights, [0.6, 0.4], 0.01);
  assertAllClose(g.variances.map(Math.sqrt), [2, 5], 0.3);
  assert.deepEqual(fitGmm1d(data, { components: 2 }), g);
  let previous = -Infinity;
  for (const iterations of [0, 1, 2, 5, 20]) {
    const ll = fitGmm1d(data, { iterations }).logLikelihood;
    assert.ok(ll >= previous - 1e-12, `${iterations}: ${ll} < ${previous}`);
    previous = ll;
  }
  const k8 = fitGmm1d(data);
  assertNear(k8.weights.reduce((a, w) => a + w, 0), 1, 1e-12);
  assert.ok(k8.variances.every((v) => v >= 1e-6));
});

Deno.test("noiseSigmaOptions: the repository's defaults, README's σ₀ = 10 as an option", () => {
  assert.deepEqual(noiseSigmaOptions(), { initNoiseSigma: 1, sigmaLr: 1e-2, fixNoiseSigma: false });
  assert.equal(noiseSigmaOptions({ initNoiseSigma: 10 }).initNoiseSigma, 10);
  assert.throws(() => noiseSigmaOptions({ initNoiseSigma: 0 }), RangeError);
  assert.throws(() => bmcLoss([1], [1], 0), RangeError);
});
