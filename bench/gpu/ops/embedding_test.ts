import assert from "node:assert/strict";
import { backward } from "../autograd.ts";
import { tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, smallGridRuntime, testRuntime } from "../testing.ts";
import { add } from "./elementwise.ts";
import { embedding, embeddingBackward, embeddingReference } from "./embedding.ts";

const rt = await testRuntime();

function randomIds(n: number, vocab: number, seed: number, outOfRange = 0): number[] {
  const r = randomValues(n, seed, 0, vocab + outOfRange);
  return Array.from(r, (x) => Math.floor(x));
}

/** f32 scatter-add in increasing token order: what the GPU backward must reproduce bit for bit. */
function scatterF32(grad: Float32Array, ids: number[], vocab: number, dim: number): Float32Array {
  const out = new Float32Array(vocab * dim);
  ids.forEach((id, t) => {
    if (id < 0 || id >= vocab) return;
    for (let k = 0; k < dim; k++) out[id * dim + k] = Math.fround(out[id * dim + k] + grad[t * dim + k]);
  });
  return out;
}

const CASES: { vocab: number; dim: number; ids: number[]; dtype?: "u32" | "i32" }[] = [
  { vocab: 5, dim: 3, ids: [0, 4, 4, 2, 7, 4, 0] }, // repeats and one id past the end
  { vocab: 1, dim: 1, ids: [0] },
  { vocab: 6, dim: 4, ids: [3, -1, 5, -7, 3], dtype: "i32" }, // negative ids are out of range
  { vocab: 37, dim: 19, ids: randomIds(150, 37, 1, 3) }, // T > 64: several fill chunks
  { vocab: 300, dim: 5, ids: randomIds(70, 300, 2) }, // V > 256: a longer scan per thread
];

Deno.test("embedding forward matches the float64 reference (out-of-range ids → zero rows)", async () => {
  for (const { vocab, dim, ids, dtype = "u32" } of CASES) {
    const table = randomValues(vocab * dim, vocab);
    const out = embedding(tensorFrom(rt, table, [vocab, dim]), tensorFrom(rt, ids, [ids.length], { dtype }));
    assert.deepEqual(out.shape, [ids.length, dim]);
    assertClose(await out.toArray(), embeddingReference(table, vocab, dim, ids), 1e-7, `V=${vocab} D=${dim}`);
  }
  // Ids of any shape: [2, 3] → [2, 3, D].
  const t = tensorFrom(rt, randomValues(8, 3), [4, 2]);
  const out = embedding(t, tensorFrom(rt, [0, 1, 2, 3, 3, 1], [2, 3], { dtype: "u32" }));
  assert.deepEqual(out.shape, [2, 3, 2]);
});

Deno.test("embedding backward matches finite differences", async () => {
  for (const { vocab, dim, ids, dtype = "u32" } of CASES) {
    const idT = tensorFrom(rt, ids, [ids.length], { dtype });
    const [err] = await gradCheck(
      rt,
      [{ data: randomValues(vocab * dim, 5), shape: [vocab, dim] }],
      ([table]) => embedding(table, idT),
      ([table]) => embeddingReference(table, vocab, dim, ids),
    );
    assert.ok(err < 1e-4, `V=${vocab} D=${dim}: gradient error ${err}`);
    idT.release();
  }
});

Deno.test("embedding backward is the exact f32 sum in token order, run after run", async () => {
  const [vocab, dim] = [11, 33];
  const ids = randomIds(300, vocab, 9); // ~27 tokens per row
  const grad = Float32Array.from(randomValues(ids.length * dim, 10));
  const want = scatterF32(grad, ids, vocab, dim);
  const g = tensorFrom(rt, grad, [ids.length, dim]);
  const idT = tensorFrom(rt, ids, [ids.length], { dtype: "u32" });
  for (let run = 0; run < 2; run++) {
    const got = await embeddingBackward(g, idT, vocab).toArray();
    assert.deepEqual(got, want);
  }
  // Through autograd, with the table used twice (the two gradients are accumulated).
  const table = tensorFrom(rt, randomValues(vocab * dim, 11), [vocab, dim], { requiresGrad: true });
  backward(add(embedding(table, idT), embedding(table, idT)), g);
  assert.deepEqual(await table.grad!.toArray(), want.map((x) => 2 * x));
});

Deno.test("embedding kernels on a 2-D dispatch grid", async () => {
  const small = await smallGridRuntime();
  const [vocab, dim] = [8, 100]; // count/fill: 8 workgroups → 3×3; gather: 800 → 4 workgroups → 3×2
  const ids = randomIds(20, vocab, 3); // forward: 2,000 elements → 8 workgroups → 3×3
  const table = randomValues(vocab * dim, 4);
  const out = embedding(
    tensorFrom(small, table, [vocab, dim]),
    tensorFrom(small, ids, [20], { dtype: "u32" }),
  );
  assertClose(await out.toArray(), embeddingReference(table, vocab, dim, ids), 1e-7, "forward");
  const grad = Float32Array.from(randomValues(20 * dim, 5));
  const got = await embeddingBackward(
    tensorFrom(small, grad, [20, dim]),
    tensorFrom(small, ids, [20], { dtype: "u32" }),
    vocab,
  ).toArray();
  assert.deepEqual(got, scatterF32(grad, ids, vocab, dim));
});

Deno.test("embedding rejects bad arguments", () => {
  const table = tensorFrom(rt, [1, 2, 3, 4], [2, 2]);
  assert.throws(() => embedding(table, tensorFrom(rt, [0, 1], [2])), TypeError); // f32 ids
  assert.throws(
    () => embedding(tensorFrom(rt, [1, 2], [2]), tensorFrom(rt, [0], [1], { dtype: "u32" })),
    RangeError,
  );
});
