import assert from "node:assert/strict";
import { matmul } from "./ops/matmul.ts";
import { gelu } from "./ops/elementwise.ts";
import { tensorFrom } from "./tensor.ts";
import { randomValues, testRuntime } from "./testing.ts";

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
