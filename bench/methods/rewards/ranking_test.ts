import assert from "node:assert/strict";
import { answers } from "./_testing.ts";
import { fidelity, normalCdf, ranking, thurstoneProbability } from "./ranking.ts";

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

Deno.test("ranking: normal CDF against known values", () => {
  assert.equal(normalCdf(0), 0.5);
  // Reference values from scipy.stats.norm.cdf.
  close(normalCdf(1.959963984540054), 0.975, 1e-15);
  close(normalCdf(-1), 0.15865525393145707, 1e-15);
  close(normalCdf(0.5), 0.6914624612740131, 1e-15);
  close(normalCdf(3), 0.9986501019683699, 1e-15);
  close(normalCdf(-4.5), 3.3976731247300535e-6, 1e-18);
  close(normalCdf(-8), 6.22096057427174e-16, 1e-27);
  assert.equal(normalCdf(-40), 0);
  assert.equal(normalCdf(40), 1);
  assert.equal(normalCdf(Infinity), 1);
  assert.equal(normalCdf(-Infinity), 0);
});

Deno.test("ranking: the methods.md §5.4 fidelity test vector", () => {
  const p = thurstoneProbability(3.0, 2.5, 0.2, 0.3);
  close(p, 0.76025, 5e-6);
  close(fidelity(p, 1), 0.87292, 5e-6);
  close(fidelity(p, 0), 0.49064, 5e-6);
  close(fidelity(p, 0.5), 0.96277, 5e-6);
});

Deno.test("ranking: the mean fidelity against every other sample, by hand", () => {
  const r = ranking.compute({ labels: [1, 2, 3], outputs: answers([[1, 2], [2, 3], [3, 5]]) }, {
    labelRange: [0, 10],
  });
  const mu = [1.5, 2.5, 4], v = [0.5, 0.5, 2];
  const F = (q: number, i: number, z: number, g: number) =>
    fidelity(thurstoneProbability(q, mu[z], v[i], v[z]), g);
  close(r[0][0], (F(1, 0, 1, 0) + F(1, 0, 2, 0)) / 2, 1e-15);
  close(r[1][1], (F(3, 1, 0, 1) + F(3, 1, 2, 0)) / 2, 1e-15);
  close(r[2][1], (F(5, 2, 0, 1) + F(5, 2, 1, 1)) / 2, 1e-15);
  // A tie in labels scores g = 0.5.
  const t = ranking.compute({ labels: [4, 4], outputs: answers([[4, 4], [4, 4]]) }, { labelRange: [0, 10] });
  close(t[0][0], fidelity(0.5, 0.5), 1e-15);
});

Deno.test("ranking: anchorless samples are no partner; a lone sample scores 0", () => {
  const ctx = { labelRange: [0, 10] as const };
  const r = ranking.compute({ labels: [1, 2, 3], outputs: [["x", "y"], ...answers([[2, 3], [3, 5]])] }, ctx);
  const solo = ranking.compute({ labels: [1, 2], outputs: answers([[2, 3], [3, 5]]) }, ctx);
  assert.deepEqual(r[1], solo[0]);
  assert.deepEqual(ranking.compute({ labels: [1], outputs: answers([[1, 2]]) }, ctx), [[0, 0]]);
});
