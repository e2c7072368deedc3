import assert from "node:assert/strict";
import { answers, assertClose } from "./_testing.ts";
import { mae, maeReward } from "./mae.ts";

Deno.test("mae: 1 − |q − y| / range width", () => {
  assert.equal(maeReward(30, 20, [0, 100]), 0.9);
  assert.equal(maeReward(20, 20, [0, 100]), 1);
  assert.equal(maeReward(0, 100, [0, 100]), 0);
  assertClose(
    mae.compute({ labels: [20, 40], outputs: answers([[22, 30], [40, 50]]) }, { labelRange: [0, 200] }),
    [
      [0.99, 0.95],
      [1, 0.95],
    ],
    1e-15,
  );
});

Deno.test("mae: an invalid output scores as its sample's mean valid prediction", () => {
  const r = mae.compute({ labels: [20], outputs: [["<answer>22</answer>", "oops", "<answer>30</answer>"]] }, {
    labelRange: [0, 100],
  });
  assertClose(r, [[0.98, 0.94, 0.9]], 1e-15);
});
