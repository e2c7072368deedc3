import assert from "node:assert/strict";
import { sizeClass } from "./runtime.ts";
import { Tensor, tensorFrom } from "./tensor.ts";
import { testRuntime } from "./testing.ts";

const rt = await testRuntime();

Deno.test("sizeClass rounds to powers of two, then whole MiB", () => {
  assert.equal(sizeClass(1), 16);
  assert.equal(sizeClass(100), 128);
  assert.equal(sizeClass(1 << 20), 1 << 20);
  assert.equal(sizeClass((1 << 20) + 1), 2 << 20);
});

Deno.test("released buffers are reused by the next tensor of the same size class", () => {
  const a = new Tensor(rt, [100]);
  const buffer = a.buffer;
  a.release();
  const b = new Tensor(rt, [120]);
  assert.equal(b.buffer, buffer);
  assert.throws(() => a.buffer, /was released/);
  b.release();
});

Deno.test("a shader that fails to compile surfaces as an error at the next readback", async () => {
  const t = tensorFrom(rt, [1, 2, 3], [3]);
  rt.dispatch({ key: "broken-on-purpose", code: () => "this is not WGSL" }, [t.buffer], [1]);
  await assert.rejects(t.toArray(), /WebGPU reported \d+ error/);
  // Errors are cleared once reported: the runtime stays usable.
  assert.deepEqual(Array.from(await t.toArray()), [1, 2, 3]);
});
