import assert from "node:assert/strict";
import { concatSeq, copyRows } from "./concat.ts";
import { gradCheck, randomValues, testRuntime } from "../testing.ts";
import { full, tensorFrom } from "../tensor.ts";

Deno.test("concatSeq joins along the sequence axis and splits the gradient back", async () => {
  const rt = await testRuntime();
  const a = randomValues(2 * 3 * 5, 1), b = randomValues(2 * 2 * 5, 2);
  const out = await concatSeq(tensorFrom(rt, a, [2, 3, 5]), tensorFrom(rt, b, [2, 2, 5])).toArray();
  const expectedOf = (x: Float64Array, y: Float64Array) => {
    const joined: number[] = [];
    for (let i = 0; i < 2; i++) joined.push(...x.slice(i * 15, i * 15 + 15), ...y.slice(i * 10, i * 10 + 10));
    return joined;
  };
  assert.deepEqual([...out], expectedOf(a, b).map(Math.fround));
  const errors = await gradCheck(
    rt,
    [{ data: a, shape: [2, 3, 5] }, { data: b, shape: [2, 2, 5] }],
    ([x, y]) => concatSeq(x, y),
    ([x, y]) => Float64Array.from(expectedOf(x, y)),
  );
  for (const e of errors) assert(e < 1e-4, `relative gradient error ${e}`);
});

Deno.test("copyRows writes a block of rows at an offset, as a KV cache append does", async () => {
  const rt = await testRuntime();
  const cache = full(rt, [2, 4, 3], 0);
  copyRows(tensorFrom(rt, [1, 2, 3, 4, 5, 6], [2, 1, 3]), cache, {
    batch: 2,
    d: 3,
    rows: 1,
    srcS: 1,
    dstS: 4,
    srcStart: 0,
    dstStart: 2,
  });
  assert.deepEqual([...await cache.toArray()], [
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    2,
    3,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    4,
    5,
    6,
    0,
    0,
    0,
  ]);
});
