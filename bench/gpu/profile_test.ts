import assert from "node:assert/strict";
import { matmul } from "./ops/matmul.ts";
import { gelu } from "./ops/elementwise.ts";
import { tensorFrom } from "./tensor.ts";
import { randomValues, testRuntime } from "./testing.ts";
import { timeKernels } from "./measure.ts";
import { Runtime } from "./runtime.ts";

Deno.test("profile: every dispatch is timed and charged to its shader key", async (t) => {
  const rt = await testRuntime();
  if (!rt.gpu.timestamps) {
    assert.throws(() => rt.startProfile(), /timestamp-query/);
    t.step("skipped: no timestamp-query on this adapter", () => {});
    return;
  }
  const a = tensorFrom(rt, randomValues(64 * 48, 1), [64, 48]);
  const b = tensorFrom(rt, randomValues(48 * 32, 2), [48, 32]);
  const before = rt.stats.dispatches;
  rt.startProfile();
  const out = await rt.scope(() => {
    let y = matmul(a, b);
    for (let i = 0; i < 3; i++) y = gelu(y);
    return y;
  });
  const profile = await rt.stopProfile();
  const dispatches = rt.stats.dispatches - before;
  assert.equal(profile.reduce((s, p) => s + p.dispatches, 0), dispatches);
  assert.ok(profile.every((p) => p.ms >= 0 && p.gapMs >= 0 && Number.isFinite(p.ms)));
  assert.ok(profile.reduce((s, p) => s + p.ms, 0) > 0);
  const gelus = profile.find((p) => p.key.includes("gelu"));
  assert.equal(gelus?.dispatches, 3);
  // Values are unaffected by the timing passes.
  assert.equal((await out.toArray()).length, 64 * 32);
  await assert.rejects(() => rt.stopProfile(), /no profile/);
});

Deno.test("timeKernels: the dispatches' own time per call, or null without timestamps", async () => {
  const rt = await testRuntime();
  const x = tensorFrom(rt, randomValues(4096, 3), [64, 64]);
  const plain = new Runtime({ ...rt.gpu, timestamps: false });
  assert.equal(await timeKernels(plain, () => {}, 3), null);
  if (!rt.gpu.timestamps) return;
  let calls = 0;
  const before = rt.stats.dispatches;
  const ms = await timeKernels(rt, () => {
    calls++;
    const y = gelu(x);
    gelu(y).release();
    y.release();
  }, 4);
  assert.equal(calls, 5); // one warm-up, then the timed calls
  assert.equal(rt.stats.dispatches - before, 10);
  assert.ok(ms !== null && ms > 0 && Number.isFinite(ms), `kernel time ${ms}`);
  // A call that dispatches nothing costs no kernel time.
  assert.equal(await timeKernels(rt, () => {}, 3), 0);
  x.release();
});
