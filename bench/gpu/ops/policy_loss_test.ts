import assert from "node:assert/strict";
import { backward } from "../autograd.ts";
import { full, tensorFrom } from "../tensor.ts";
import { randomValues, relativeError, testRuntime } from "../testing.ts";
import { aggregationWeights, policyLoss, referencePolicyLoss } from "./policy_loss.ts";

Deno.test("policyLoss: loss and gradient match the float64 reference, clipped and KL terms included", async () => {
  const rt = await testRuntime();
  const n = 300;
  const lp = randomValues(n, 1, -3, -0.1);
  // Old log-probs away from lp, so some ratios leave [0.8, 1.2] and the clip binds on one side.
  const old = Float64Array.from(lp, (v, i) => v + (randomValues(n, 2, -0.5, 0.5)[i]));
  const ref = randomValues(n, 3, -3, -0.1);
  const adv = randomValues(n, 4, -2, 2);
  const w = Float64Array.from(
    aggregationWeights(Float64Array.from({ length: n }, (_, i) => (i % 7 === 6 ? 0 : 1)), 10, 30, "grpo"),
  );
  const options = { epsLow: 0.2, epsHigh: 0.28, beta: 0.04 };
  const expected = referencePolicyLoss(lp, old, ref, adv, w, options);
  const x = tensorFrom(rt, lp, [n], { requiresGrad: true });
  const loss = policyLoss(
    x,
    tensorFrom(rt, old, [n]),
    tensorFrom(rt, ref, [n]),
    tensorFrom(rt, adv, [n]),
    tensorFrom(rt, w, [n]),
    options,
  );
  const [value] = await loss.toArray();
  assert.ok(Math.abs(value - expected.loss) / Math.abs(expected.loss) < 1e-4, `${value} vs ${expected.loss}`);
  backward(loss, full(rt, [1], 1));
  const grad = await x.grad!.toArray();
  assert.ok(relativeError(grad, expected.grad) < 1e-4);
  // The reference gradient itself against central differences of the reference loss.
  const numeric = Float64Array.from(lp, (_, i) => {
    const up = Float64Array.from(lp), down = Float64Array.from(lp);
    up[i] += 1e-6;
    down[i] -= 1e-6;
    return (referencePolicyLoss(up, old, ref, adv, w, options).loss -
      referencePolicyLoss(down, old, ref, adv, w, options).loss) / 2e-6;
  });
  assert.ok(relativeError(expected.grad, numeric) < 1e-5);
});

Deno.test("policyLoss: on-policy (lpOld = lp, β = 0) the gradient is −w·A", async () => {
  const rt = await testRuntime();
  const lp = [-1, -2, -0.5, -3], adv = [0.8, -0.8, 1.5, 0], w = [0.25, 0.25, 0.5, 0];
  const x = tensorFrom(rt, lp, [4], { requiresGrad: true });
  const loss = policyLoss(
    x,
    tensorFrom(rt, lp, [4]),
    tensorFrom(rt, lp, [4]),
    tensorFrom(rt, adv, [4]),
    tensorFrom(rt, w, [4]),
  );
  backward(loss, full(rt, [1], 1));
  assert.deepEqual([...await x.grad!.toArray()], [-0.2, 0.2, -0.75, 0].map(Math.fround));
});

Deno.test("aggregationWeights: grpo, bnpo and dr_grpo normalisers", () => {
  const mask = [1, 1, 0, 1, 0, 0];
  assert.deepEqual([...aggregationWeights(mask, 2, 3, "grpo")], [0.25, 0.25, 0, 0.5, 0, 0]);
  assert.deepEqual(
    [...aggregationWeights(mask, 2, 3, "bnpo")].map((v) => +v.toFixed(6)),
    [1 / 3, 1 / 3, 0, 1 / 3, 0, 0].map((v) => +v.toFixed(6)),
  );
  assert.deepEqual([...aggregationWeights(mask, 2, 3, "dr_grpo", 4)], [0.125, 0.125, 0, 0.125, 0, 0]);
});
