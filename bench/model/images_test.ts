import assert from "node:assert/strict";
import { tensorFrom } from "../gpu/tensor.ts";
import { testRuntime } from "../gpu/testing.ts";
import { imageBatch, type ImageSet } from "./images.ts";

const rt = await testRuntime();

/** The conversion as the model defines it: byte / 127.5 − 1 in float64, rounded to float32, CHW. */
function expected(set: ImageSet, indices: number[]): Float32Array {
  const plane = set.side * set.side, per = plane * 3;
  const out = new Float32Array(indices.length * per);
  indices.forEach((idx, b) => {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        out[b * per + c * plane + p] = set.pixels[idx * per + p * 3 + c] / 127.5 - 1;
      }
    }
  });
  return out;
}

Deno.test("imageBatch: bytes HWC to floats CHW in [−1, 1], exactly, across scopes", async () => {
  // side 5: 75 bytes per image, so images straddle the kernel's 4-byte words; every byte value occurs.
  const set: ImageSet = {
    side: 5,
    count: 4,
    pixels: Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256),
  };
  for (const indices of [[2, 0, 2], [3], [1, 2, 3, 0]]) {
    const values = await rt.scope(async () => {
      // Churn the pool, so a table released with the first scope would be overwritten.
      tensorFrom(rt, new Float32Array(256).fill(9), [256]);
      const t = imageBatch(rt, set, indices);
      assert.deepEqual(t.shape, [indices.length, 3, 5, 5]);
      return await t.toArray();
    });
    assert.deepEqual(values, expected(set, indices), `indices ${indices}`);
  }
  assert.deepEqual(imageBatch(rt, set, []).shape, [0, 3, 5, 5]);
});
