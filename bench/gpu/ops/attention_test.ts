import assert from "node:assert/strict";
import { noGrad } from "../autograd.ts";
import { numel, tensorFrom } from "../tensor.ts";
import { assertClose, gradCheck, randomValues, smallGridRuntime, testRuntime } from "../testing.ts";
import {
  attention,
  attentionBackwardTuning,
  attentionDecode,
  attentionMask,
  attentionReference,
  attentionTuning,
} from "./attention.ts";
import { backward } from "../autograd.ts";

const rt = await testRuntime();

interface Case {
  shape: [number, number, number, number];
  prefix: number;
  scale?: number;
  range?: number;
}

const FORWARD: Case[] = [
  { shape: [1, 1, 1, 4], prefix: 0 }, // S = 1
  { shape: [1, 1, 1, 4], prefix: 1 },
  { shape: [2, 3, 70, 16], prefix: 20 }, // S > 64: two key chunks
  { shape: [1, 2, 70, 128], prefix: 70 }, // prefix = S (bidirectional), Dh = 128
  { shape: [1, 1, 67, 200], prefix: 0 }, // causal, 4 dimensions per thread
  { shape: [2, 1, 13, 5], prefix: 5, scale: 0.3 },
  { shape: [1, 2, 9, 8], prefix: 3, range: 6 }, // scores up to ~±100: the softmax must stay stable
  // The tiled forward (128 queries, 16 keys per block by default): several query blocks, S not a
  // multiple of either block, the prefix at a key-block boundary, inside a block, at the query-block
  // boundary, and equal to S.
  { shape: [1, 1, 150, 3], prefix: 16 },
  { shape: [1, 1, 140, 16], prefix: 37 },
  { shape: [1, 1, 131, 64], prefix: 128 },
  { shape: [1, 1, 129, 64], prefix: 129 },
  { shape: [1, 1, 133, 128], prefix: 0 },
];

const GRAD: Case[] = [
  { shape: [1, 1, 1, 3], prefix: 0 },
  { shape: [1, 1, 1, 3], prefix: 1 },
  { shape: [2, 2, 9, 5], prefix: 4 },
  { shape: [1, 1, 70, 4], prefix: 30 }, // two chunks in both backward kernels
  { shape: [1, 2, 20, 6], prefix: 20 },
  { shape: [1, 1, 66, 3], prefix: 0 },
  { shape: [1, 1, 5, 130], prefix: 2, scale: 0.2 }, // Dh > 128: three dimensions per thread
  { shape: [1, 1, 70, 3], prefix: 64 }, // tiled backward: prefix at the 64-row block boundary
];

function inputs(c: Case, seed: number) {
  const n = numel(c.shape), r = c.range ?? 1;
  return [randomValues(n, seed, -r, r), randomValues(n, seed + 1, -r, r), randomValues(n, seed + 2, -r, r)];
}

const label = (c: Case) => `[${c.shape}] prefix ${c.prefix}${c.scale ? ` scale ${c.scale}` : ""}`;

Deno.test("attention mask: bidirectional prefix, causal after", () => {
  const rows = (s: number, prefix: number) =>
    Array.from(
      { length: s },
      (_, i) => Array.from({ length: s }, (_, j) => (attentionMask(i, j, prefix) ? 1 : 0)).join(""),
    );
  assert.deepEqual(rows(5, 3), ["11100", "11100", "11100", "11110", "11111"]);
  assert.deepEqual(rows(3, 0), ["100", "110", "111"]);
  assert.deepEqual(rows(3, 1), rows(3, 0));
  assert.deepEqual(rows(3, 3), ["111", "111", "111"]);
});

Deno.test("attention forward matches the float64 reference", async () => {
  for (const c of FORWARD) {
    const [q, k, v] = inputs(c, numel(c.shape));
    const [tq, tk, tv] = [q, k, v].map((x) => tensorFrom(rt, x, c.shape));
    const want = attentionReference(q, k, v, c.shape, c.prefix, c.scale);
    const out = noGrad(() => attention(tq, tk, tv, { prefix: c.prefix, scale: c.scale }));
    assert.deepEqual(out.shape, c.shape);
    assertClose(await out.toArray(), want, 1e-5, label(c));
    // The recording path (which also saves the log-sum-exp) computes the same output.
    tq.requiresGrad = true;
    const rec = attention(tq, tk, tv, { prefix: c.prefix, scale: c.scale });
    assertClose(await rec.toArray(), want, 1e-5, `${label(c)} (recorded)`);
    for (const t of [tq, tk, tv, out, rec]) t.release();
  }
});

Deno.test("attention backward matches finite differences", async () => {
  for (const c of GRAD) {
    const [q, k, v] = inputs(c, 100 + c.shape[2]);
    const errors = await gradCheck(
      rt,
      [q, k, v].map((data) => ({ data, shape: c.shape })),
      ([tq, tk, tv]) => attention(tq, tk, tv, { prefix: c.prefix, scale: c.scale }),
      ([a, b, d]) => attentionReference(a, b, d, c.shape, c.prefix, c.scale),
    );
    errors.forEach((e, i) => assert.ok(e < 1e-4, `${label(c)}: d${"qkv"[i]} error ${e}`));
  }
});

/** Runs `fn` under other tile shapes of the tiled kernels, restoring the defaults afterwards. */
async function withTuning<T>(
  fwd: Partial<typeof attentionTuning>,
  bwd: Partial<typeof attentionBackwardTuning>,
  fn: () => Promise<T>,
): Promise<T> {
  const f = { ...attentionTuning }, b = { ...attentionBackwardTuning };
  Object.assign(attentionTuning, fwd);
  Object.assign(attentionBackwardTuning, bwd);
  try {
    return await fn();
  } finally {
    Object.assign(attentionTuning, f);
    Object.assign(attentionBackwardTuning, b);
  }
}

async function gradients(c: Case, data: Float64Array[]) {
  const ts = data.map((x) => tensorFrom(rt, x, c.shape, { requiresGrad: true }));
  const out = attention(ts[0], ts[1], ts[2], { prefix: c.prefix, scale: c.scale });
  backward(out, tensorFrom(rt, randomValues(numel(c.shape), 7), c.shape));
  const grads = await Promise.all(ts.map((t) => t.grad!.toArray()));
  for (const t of [...ts, out]) t.release();
  return grads;
}

const TILINGS: [Partial<typeof attentionTuning>, Partial<typeof attentionBackwardTuning>][] = [
  // texture: false, so that the software adapter (CI) runs the tiled kernels rather than the texture ones.
  [{ queriesPerBlock: 16, threadsPerQuery: 1, maxKeysPerBlock: 8, texture: false }, {
    rowsPerBlock: 16,
    threadsPerRow: 1,
    maxStagedPerBlock: 8,
  }],
  [{ queriesPerBlock: 32, threadsPerQuery: 4, maxKeysPerBlock: 32, texture: false }, {
    rowsPerBlock: 32,
    threadsPerRow: 4,
    maxStagedPerBlock: 16,
  }],
];

TILINGS.push([
  { queriesPerBlock: 16, threadsPerQuery: 2, maxKeysPerBlock: 8, unrollKeys: true, texture: false },
  { rowsPerBlock: 16, threadsPerRow: 2, maxStagedPerBlock: 8 },
]);

const TILED: Case[] = [
  { shape: [1, 1, 37, 3], prefix: 16 }, // prefix at a key-block boundary, S not a multiple of a block
  { shape: [2, 1, 21, 64], prefix: 9 }, // prefix inside a block
  { shape: [1, 1, 19, 128], prefix: 19, scale: 0.1 }, // bidirectional, Dh = 128
];

Deno.test("tiled attention kernels at other tile shapes", async () => {
  for (const [fwd, bwd] of TILINGS) {
    await withTuning(fwd, bwd, async () => {
      // Unrolled key loops (the real-GPU form) compile slowly on llvmpipe: small head dimensions only.
      for (const c of TILED.filter((c) => !fwd.unrollKeys || c.shape[3] <= 8)) {
        const what = `${label(c)} ${JSON.stringify(fwd)}`;
        const data = inputs(c, 3 * c.shape[2]);
        const [tq, tk, tv] = data.map((x) => tensorFrom(rt, x, c.shape));
        const out = noGrad(() => attention(tq, tk, tv, { prefix: c.prefix, scale: c.scale }));
        const want = attentionReference(data[0], data[1], data[2], c.shape, c.prefix, c.scale);
        assertClose(await out.toArray(), want, 1e-5, what);
        for (const t of [tq, tk, tv, out]) t.release();
        // The tiled backward against the per-row kernels (checked by finite differences above).
        const tiled = await gradients(c, data);
        attentionBackwardTuning.tiled = false;
        const rows = await gradients(c, data);
        attentionBackwardTuning.tiled = true;
        tiled.forEach((g, i) => assertClose(g, rows[i], 1e-5, `${what}: d${"qkv"[i]}`));
      }
      // And by finite differences on a small case.
      const c: Case = { shape: [1, 1, 19, 3], prefix: 8 };
      const errors = await gradCheck(
        rt,
        inputs(c, 11).map((data) => ({ data, shape: c.shape })),
        ([tq, tk, tv]) => attention(tq, tk, tv, { prefix: c.prefix }),
        ([a, b, d]) => attentionReference(a, b, d, c.shape, c.prefix),
      );
      errors.forEach((e, i) =>
        assert.ok(e < 1e-4, `${label(c)} ${JSON.stringify(bwd)}: d${"qkv"[i]} error ${e}`)
      );
    });
  }
});

Deno.test("texture attention kernels (software adapter) match the per-row kernels", async () => {
  // The forward and backward tests above run the texture kernels on the software adapter wherever
  // Dh % 4 == 0; here they are forced (as on a GPU) and compared with the per-row kernels.
  for (const c of [{ shape: [2, 3, 21, 8], prefix: 9 }, { shape: [1, 2, 40, 32], prefix: 0 }] as Case[]) {
    const data = inputs(c, 5 * c.shape[2]);
    const texture = await withTuning({ texture: true }, {}, () => gradients(c, data));
    const rows = await withTuning(
      { texture: false, tiled: false },
      { tiled: false },
      () => gradients(c, data),
    );
    texture.forEach((g, i) => assertClose(g, rows[i], 1e-5, `${label(c)}: d${"qkv"[i]}`));
  }
});

Deno.test("attention on a 2-D dispatch grid (forward and backward)", async () => {
  const small = await smallGridRuntime();
  const c: Case = { shape: [1, 1, 7, 4], prefix: 3 }; // 7 workgroups → a 3×3 grid
  const errors = await gradCheck(
    small,
    inputs(c, 5).map((data) => ({ data, shape: c.shape })),
    ([tq, tk, tv]) => attention(tq, tk, tv, { prefix: c.prefix }),
    ([a, b, d]) => attentionReference(a, b, d, c.shape, c.prefix),
  );
  errors.forEach((e, i) => assert.ok(e < 1e-4, `d${"qkv"[i]} error ${e}`));
});

Deno.test("attentionDecode attends over the first `length` cached positions", async () => {
  const [b, h, smax, dh] = [2, 3, 70, 16];
  const kc = randomValues(b * h * smax * dh, 1), vc = randomValues(b * h * smax * dh, 2);
  const tk = tensorFrom(rt, kc, [b, h, smax, dh]), tv = tensorFrom(rt, vc, [b, h, smax, dh]);
  for (const length of [1, 37, 65, 70]) {
    const q = randomValues(b * h * dh, length);
    const out = noGrad(() => attentionDecode(tensorFrom(rt, q, [b, h, 1, dh]), tk, tv, length));
    assert.deepEqual(out.shape, [b, h, 1, dh]);
    const want = attentionReference(q, kc, vc, [b, h, 1, dh], 0, undefined, { keys: length, kvRows: smax });
    assertClose(await out.toArray(), want, 1e-5, `length ${length}`);
  }
  // Decoding the last position of a sequence reproduces the full attention's last row.
  const [s, prefix] = [12, 5];
  const [q, k, v] = inputs({ shape: [1, 2, s, 8], prefix }, 9);
  const full = attentionReference(q, k, v, [1, 2, s, 8], prefix);
  const lastQ = [0, 1].flatMap((hh) => Array.from(q.subarray((hh * s + s - 1) * 8, (hh * s + s) * 8)));
  const dec = noGrad(() =>
    attentionDecode(
      tensorFrom(rt, lastQ, [1, 2, 1, 8]),
      tensorFrom(rt, k, [1, 2, s, 8]),
      tensorFrom(rt, v, [1, 2, s, 8]),
      s,
    )
  );
  const wantLast = [0, 1].flatMap((hh) => Array.from(full.subarray((hh * s + s - 1) * 8, (hh * s + s) * 8)));
  assertClose(await dec.toArray(), wantLast, 1e-5, "last row");
});

Deno.test("attention and attentionDecode reject bad arguments", () => {
  const t = tensorFrom(rt, randomValues(2 * 3 * 4, 1), [1, 2, 3, 4]);
  assert.throws(() => attention(t, t, t, { prefix: 4 }), RangeError);
  assert.throws(() => attention(t, t, t, { prefix: -1 }), RangeError);
  assert.throws(() => attention(t, t, t, { prefix: 1.5 }), RangeError);
  const other = tensorFrom(rt, randomValues(2 * 4 * 4, 1), [1, 2, 4, 4]);
  assert.throws(() => attention(t, other, t, { prefix: 0 }), RangeError);
  const flat = tensorFrom(rt, randomValues(12, 1), [3, 4]);
  assert.throws(() => attention(flat, flat, flat, { prefix: 0 }), RangeError);
  const wide = tensorFrom(rt, new Array(257).fill(0), [1, 1, 1, 257]);
  assert.throws(() => attention(wide, wide, wide, { prefix: 0 }), RangeError);
  const q = tensorFrom(rt, randomValues(8, 2), [1, 2, 1, 4]);
  assert.throws(() => noGrad(() => attentionDecode(q, t, t, 0)), RangeError);
  assert.throws(() => noGrad(() => attentionDecode(q, t, t, 4)), RangeError);
  assert.throws(() => noGrad(() => attentionDecode(t, t, t, 2)), RangeError); // q has 3 positions
  q.requiresGrad = true;
  assert.throws(() => attentionDecode(q, t, t, 2), /noGrad/);
});
