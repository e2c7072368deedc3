import assert from "node:assert/strict";
import { numel, tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, testRuntime } from "../testing.ts";
import { patchify, patchifyReference, patchifyShape } from "./patchify.ts";

const rt = await testRuntime();

const CASES: [number[], number][] = [
  [[2, 3, 8, 12], 4],
  [[1, 1, 5, 5], 5], // one patch
  [[3, 2, 6, 9], 3], // 486 elements: two workgroups, not a multiple of 256
  [[1, 2, 3, 2], 1], // p = 1: a transpose to [B, H·W, C]
  [[2, 3, 14, 14], 7],
];

Deno.test("patchify forward matches the float64 reference", async () => {
  for (const [shape, p] of CASES) {
    const x = randomValues(numel(shape), numel(shape));
    const out = patchify(tensorFrom(rt, x, shape), p);
    assert.deepEqual(out.shape, patchifyShape(shape, p));
    // A permutation: equal up to the f32 rounding of the inputs.
    assertClose(await out.toArray(), patchifyReference(x, shape, p), 1e-7, `patchify [${shape}] p=${p}`);
    out.release();
  }
});

Deno.test("patchify layout: feature c·p² + dy·p + dx of patch py·(W/p) + px", () => {
  // image[b, c, y, x] = 1000c + 10y + x, 2 channels, 4×6, p = 2.
  const shape = [1, 2, 4, 6];
  const img = Array.from({ length: 48 }, (_, i) => {
    const x = i % 6, y = Math.floor(i / 6) % 4, c = Math.floor(i / 24);
    return 1000 * c + 10 * y + x;
  });
  const out = patchifyReference(img, shape, 2);
  const f = 8;
  // Patch 4 = (py 1, px 1): rows 2–3, columns 2–3.
  assert.deepEqual(Array.from(out.subarray(4 * f, 5 * f)), [22, 23, 32, 33, 1022, 1023, 1032, 1033]);
});

Deno.test("patchify + matmul equals a stride-p convolution (CPU references)", () => {
  const [b, c, h, w, p, d] = [2, 3, 6, 4, 2, 5];
  const img = randomValues(b * c * h * w, 1);
  const weight = randomValues(d * c * p * p, 2); // [D, C, p, p]
  const patches = patchifyReference(img, [b, c, h, w], p);
  const n = (h / p) * (w / p), f = c * p * p;
  for (let bi = 0; bi < b; bi++) {
    for (let oy = 0; oy < h / p; oy++) {
      for (let ox = 0; ox < w / p; ox++) {
        for (let o = 0; o < d; o++) {
          let conv = 0;
          for (let ch = 0; ch < c; ch++) {
            for (let dy = 0; dy < p; dy++) {
              for (let dx = 0; dx < p; dx++) {
                conv += img[((bi * c + ch) * h + oy * p + dy) * w + ox * p + dx] *
                  weight[((o * c + ch) * p + dy) * p + dx];
              }
            }
          }
          let mm = 0;
          const row = (bi * n + oy * (w / p) + ox) * f;
          for (let k = 0; k < f; k++) mm += patches[row + k] * weight[o * f + k];
          assert.ok(Math.abs(conv - mm) < 1e-12);
        }
      }
    }
  }
});

Deno.test("patchify backward (the inverse scatter) matches finite differences", async () => {
  for (const [shape, p] of CASES.slice(0, 4)) {
    const [err] = await gradCheck(
      rt,
      [{ data: randomValues(numel(shape), 7), shape }],
      ([x]) => patchify(x, p),
      ([x]) => patchifyReference(x, shape, p),
    );
    assert.ok(err < 1e-4, `patchify [${shape}] p=${p}: gradient error ${err}`);
  }
});

Deno.test("patchify rejects bad shapes", () => {
  const t = tensorFrom(rt, new Array(2 * 6 * 8).fill(0), [1, 2, 6, 8]);
  assert.throws(() => patchify(t, 4), RangeError); // 6 is not a multiple of 4
  assert.throws(() => patchify(t, 0), RangeError);
  assert.throws(() => patchify(t, 1.5), RangeError);
  assert.throws(() => patchify(tensorFrom(rt, [1, 2, 3, 4], [2, 2]), 1), RangeError);
  assert.deepEqual(patchifyShape([1, 2, 6, 8], 2), [1, 12, 8]);
});
