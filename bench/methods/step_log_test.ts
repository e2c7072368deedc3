import assert from "node:assert/strict";
import { tensorFrom } from "../gpu/tensor.ts";
import { testRuntime } from "../gpu/testing.ts";
import { deviceScalar, deviceValue, resolveLogs, type StepLog } from "./step_log.ts";

const rt = await testRuntime();

Deno.test("resolveLogs reads every step's device values, as they were when logged, with one sync", async () => {
  const logs: StepLog[] = [];
  const running = tensorFrom(rt, [0, 0, 0], [3]);
  for (let i = 0; i < 5; i++) {
    // Logged inside a scope, as a training step does; the scope releases the tensors themselves.
    logs.push(
      await rt.scope(() => ({
        loss: deviceScalar(tensorFrom(rt, [i * 0.5, 99], [2])),
        kl: deviceValue([tensorFrom(rt, [i], [1]), running], ([a, b]) => a[0] + b[2]),
        lr: 1e-3,
      })),
    );
    // Changed after logging: the log keeps the value of the moment.
    rt.write(running.buffer, new Float32Array([0, 0, 10 * (i + 1)]));
  }
  const reads = rt.stats.readbacks;
  const resolved = await resolveLogs(logs);
  assert.equal(rt.stats.readbacks - reads, 1);
  assert.deepEqual(resolved, [0, 1, 2, 3, 4].map((i) => ({ loss: i * 0.5, kl: i + 10 * i, lr: 1e-3 })));
  running.release();
  assert.throws(() => deviceScalar(tensorFrom(rt, [1], [1], { dtype: "u32" })), /is u32, not f32/);
});

Deno.test("resolveLogs with only numbers does not touch the GPU", async () => {
  const reads = rt.stats.readbacks;
  assert.deepEqual(await resolveLogs([{ lr: 2 }, {}]), [{ lr: 2 }, {}]);
  assert.equal(rt.stats.readbacks, reads);
});
