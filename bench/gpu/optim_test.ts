import assert from "node:assert/strict";
import { backward } from "./autograd.ts";
import { copy, mul } from "./ops/elementwise.ts";
import { AdamW } from "./optim.ts";
import { Runtime } from "./runtime.ts";
import { tensorFrom } from "./tensor.ts";
import { assertClose, randomValues, testRuntime } from "./testing.ts";

const rt = await testRuntime();
const base = rt;

/** float64 AdamW (PyTorch's algorithm) with global-norm clipping, for `steps` steps of fixed gradients. */
function referenceAdamW(
  p0: Float64Array[],
  grads: Float64Array[],
  o: { lr: number; wd: number; b1: number; b2: number; eps: number; maxNorm: number },
  steps: number,
): Float64Array[] {
  const p = p0.map((x) => Float64Array.from(x));
  const m = p0.map((x) => new Float64Array(x.length)), v = p0.map((x) => new Float64Array(x.length));
  for (let t = 1; t <= steps; t++) {
    const norm = Math.sqrt(grads.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));
    const clip = o.maxNorm > 0 ? Math.min(1, o.maxNorm / (norm + 1e-6)) : 1;
    p.forEach((pk, k) => {
      for (let i = 0; i < pk.length; i++) {
        const g = grads[k][i] * clip;
        pk[i] *= 1 - o.lr * o.wd;
        m[k][i] = o.b1 * m[k][i] + (1 - o.b1) * g;
        v[k][i] = o.b2 * v[k][i] + (1 - o.b2) * g * g;
        pk[i] -= o.lr * (m[k][i] / (1 - o.b1 ** t)) / (Math.sqrt(v[k][i] / (1 - o.b2 ** t)) + o.eps);
      }
    });
  }
  return p;
}

Deno.test("AdamW with clipping matches the float64 reference over several steps", async () => {
  // Both kernels: a GPU runtime, and the software adapter's texture kernel (sizes that are multiples of 4).
  for (const fallback of [false, true]) {
    const rt = new Runtime({ ...base.gpu, info: { ...base.gpu.info, fallback } });
    await checkAdamW(rt);
  }
});

Deno.test("AdamW over many tensors: several per dispatch on a GPU, each with its group's settings", async () => {
  // More tensors than one dispatch binds (and than lavapipe's 32 storage buffers allow), of sizes from 1
  // element to more than 64 workgroups' worth, in two groups with different learning rates and decay.
  const shapes = Array.from({ length: 23 }, (_, k) => [[1], [3, 5], [37], [64, 300], [4, 4], [257]][k % 6]);
  for (const fallback of [false, true]) {
    const rt = new Runtime({ ...base.gpu, info: { ...base.gpu.info, fallback } });
    const before = rt.stats.dispatches;
    await checkAdamW(rt, shapes, 1);
    if (!fallback) assert.ok(rt.stats.dispatches - before < shapes.length, "fewer dispatches than tensors");
  }
});

async function checkAdamW(rt: Runtime, shapes = [[37], [5, 300]], steps = 3) {
  const p0 = shapes.map((s, k) => randomValues(s.reduce((a, b) => a * b), 10 + k));
  const g = shapes.map((s, k) => randomValues(s.reduce((a, b) => a * b), 20 + k, -3, 3));
  const params = shapes.map((s, k) => tensorFrom(rt, p0[k], s, { requiresGrad: true }));
  const half = Math.ceil(params.length / 2);
  const settings = [{ lr: 0.01, wd: 0.1 }, { lr: 0.03, wd: 0.02 }];
  const opt = new AdamW([
    { params: params.slice(0, half), lr: settings[0].lr, weightDecay: settings[0].wd },
    { params: params.slice(half), lr: settings[1].lr, weightDecay: settings[1].wd },
  ], { maxGradNorm: 1.0 });
  for (let step = 0; step < steps; step++) {
    params.forEach((p, k) => {
      p.grad = tensorFrom(rt, g[k], shapes[k]);
    });
    opt.update();
    opt.zeroGrad();
  }
  const expected = [0, 1].flatMap((i) => {
    const range = i === 0 ? [0, half] : [half, params.length];
    // The clip factor is global: each group's reference sees every gradient, then keeps its own tensors.
    const all = referenceAdamW(p0, g, { ...settings[i], b1: 0.9, b2: 0.999, eps: 1e-8, maxNorm: 1 }, steps);
    return all.slice(range[0], range[1]);
  });
  for (let k = 0; k < params.length; k++) {
    assertClose(await params[k].toArray(), expected[k], 1e-5, `param ${k} [${shapes[k]}]`);
  }
  const norm = Math.sqrt(g.reduce((s, x) => s + x.reduce((a, y) => a + y * y, 0), 0));
  assert.ok(Math.abs((await opt.lastGradNorm()) - norm) / norm < 1e-5);
}

Deno.test("AdamW minimises a quadratic through autograd", async () => {
  // loss = Σ ½ (w · x)² over fixed x; the minimum is w = 0.
  const x = tensorFrom(rt, randomValues(64, 3), [64]);
  const w = tensorFrom(rt, randomValues(64, 4), [64], { requiresGrad: true });
  const opt = new AdamW([{ params: [w], lr: 0.05, weightDecay: 0 }]);
  const start = (await w.toArray()).reduce((s, v) => s + Math.abs(v), 0);
  for (let i = 0; i < 60; i++) {
    const y = mul(w, x);
    const dy = copy(y); // dL/dy = y for L = Σ ½ y²
    backward(y, dy);
    dy.release();
    y.release();
    opt.update();
    opt.zeroGrad();
  }
  const end = (await w.toArray()).reduce((s, v) => s + Math.abs(v), 0);
  assert.ok(end < start * 0.2, `|w| went from ${start} to ${end}`);
});

Deno.test("a runtime scope releases the step's tensors but keeps what it returns", async () => {
  const before = rt.stats.bytesInPool;
  const w = tensorFrom(rt, randomValues(16, 1), [16], { requiresGrad: true });
  const kept = await rt.scope(() => {
    const y = mul(w, w);
    const z = mul(y, w);
    backward(z, copy(z));
    return y;
  });
  assert.ok(!kept.released);
  assert.ok(
    w.grad && !w.grad.released,
    "a leaf's gradient must survive the scope",
  );
  assert.ok(rt.stats.bytesInPool > before, "the step's other tensors went back to the pool");
});
