import assert from "node:assert/strict";
import { backward, noGrad } from "../gpu/autograd.ts";
import { mul } from "../gpu/ops/elementwise.ts";
import { sum } from "../gpu/ops/reduce.ts";
import { full, type Tensor, tensorFrom } from "../gpu/tensor.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { randomValues, relativeError, testRuntime } from "../gpu/testing.ts";
import {
  attachLora,
  encode,
  encodeGroups,
  generate,
  initVlm,
  lmLogits,
  mergeLora,
  type ModelConfig,
  patchCount,
  selectRows,
  sequenceLength,
  textRows,
  type Vlm,
} from "./vlm.ts";
import { TASK_TOKENS, VOCAB_SIZE } from "./vocab.ts";

const CONFIG: ModelConfig = {
  image: 8,
  patch: 4,
  dim: 16,
  heads: 2,
  layers: 2,
  mlpRatio: 2,
  textLength: 5,
  initStd: 0.5,
};

/** Overwrites every LoRA B factor (zero after attachLora) with `values(name, size)`, as training would. */
function setAdapterB(model: Vlm, values: (name: string, size: number) => Float64Array): void {
  for (const [name, t] of model.lora) {
    if (name.endsWith(".b")) t.rt.write(t.buffer, Float32Array.from(values(name, t.size)));
  }
}

Deno.test("generate: greedy KV-cached decoding agrees with the full teacher-forced forward", async () => {
  const rt = await testRuntime();
  for (const lora of [false, true]) {
    const model = initVlm(rt, CONFIG, 7);
    if (lora) {
      // Adapters that change the model (B starts at zero): sampling folds them into the weights, the
      // teacher-forced forward applies them as x·W + s·(x·A)·B.
      attachLora(
        model,
        { enabled: true, rank: 2, alpha: 4, targets: ["wq", "wk", "wv", "wo", "w1", "w2"] },
        5,
      );
      setAdapterB(model, (_, size) => randomValues(size, size, -0.5, 0.5));
    }
    await checkGenerate(rt, model, lora);
  }
});

async function checkGenerate(rt: Runtime, model: Vlm, lora: boolean) {
  const B = 3, T = CONFIG.textLength;
  const images = tensorFrom(rt, randomValues(B * 3 * 8 * 8, 1), [B, 3, 8, 8]);
  const tasks = [TASK_TOKENS.synthetic, TASK_TOKENS.quantity, TASK_TOKENS.age];
  const tokens = await generate(model, images, tasks, {
    samples: 2,
    temperature: 0,
    seed: 1,
    stream: 0,
    maxTokens: T,
  });
  assert.equal(tokens.length, T * B * 2);
  // Both generations of an image are identical under the argmax.
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) assert.equal(tokens[t * 6 + 2 * b], tokens[t * 6 + 2 * b + 1]);
  }
  // Teacher-force [task, g0 … g(T−2)] and take the argmax at each text position.
  const text = Array.from({ length: B * T }, (_, i) => {
    const b = Math.floor(i / T), t = i % T;
    return t === 0 ? tasks[b] : tokens[(t - 1) * 6 + 2 * b];
  });
  const logits = await noGrad(() => {
    const hidden = encode(model, images, tensorFrom(rt, text, [B, T], { dtype: "u32" }));
    return lmLogits(model, selectRows(hidden, textRows(model, B, T)));
  }).toArray();
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = logits.subarray((b * T + t) * VOCAB_SIZE, (b * T + t + 1) * VOCAB_SIZE);
      const argmax = row.indexOf(Math.max(...row));
      assert.equal(tokens[t * 6 + 2 * b], argmax, `image ${b}, step ${t}${lora ? ", LoRA" : ""}`);
    }
  }
  assert.equal(sequenceLength(CONFIG), patchCount(CONFIG) + T);
}

Deno.test("attachLora: the adapted model starts equal to the base and only adapters train", async () => {
  const rt = await testRuntime();
  const model = initVlm(rt, CONFIG, 3);
  const images = tensorFrom(rt, randomValues(2 * 3 * 64, 2), [2, 3, 8, 8]);
  const text = tensorFrom(rt, [17, 3, 5, 6, 4, 17, 3, 7, 4, 2], [2, 5], { dtype: "u32" });
  const before = await noGrad(() => encode(model, images, text)).toArray();
  attachLora(model, { enabled: true, rank: 4, alpha: 8, targets: ["wq", "wv", "w1", "w2"] }, 1);
  const after = await noGrad(() => encode(model, images, text)).toArray();
  assert.ok(relativeError(after, before) < 1e-6);
  assert.ok([...model.params.values()].every((p) => !p.requiresGrad));
  assert.equal(model.lora.size, 2 * 4 * 2);
});

Deno.test("mergeLora: folding trained adapters into the base keeps the model's outputs", async () => {
  const rt = await testRuntime();
  const model = initVlm(rt, CONFIG, 5);
  const images = tensorFrom(rt, randomValues(2 * 3 * 64, 4), [2, 3, 8, 8]);
  const text = tensorFrom(rt, [17, 3, 5, 6, 4, 17, 3, 7, 4, 2], [2, 5], { dtype: "u32" });
  const base = await noGrad(() => encode(model, images, text)).toArray();
  attachLora(model, { enabled: true, rank: 3, alpha: 6, targets: ["wq", "wk", "wo", "w2"] }, 2);
  // Non-zero B factors, as after training, so the adapters change the outputs.
  setAdapterB(model, (name, size) => randomValues(size, name.length));
  const adapted = await noGrad(() => encode(model, images, text)).toArray();
  assert.ok(relativeError(adapted, base) > 1e-2);
  mergeLora(model);
  assert.equal(model.lora.size, 0);
  assert.ok([...model.params.values()].every((p) => p.requiresGrad));
  const merged = await noGrad(() => encode(model, images, text)).toArray();
  assert.ok(relativeError(merged, adapted) < 1e-5);
});

Deno.test("encodeGroups: shared-prefix encoding equals the per-completion forward, values and gradients", async () => {
  const rt = await testRuntime();
  const model = initVlm(rt, CONFIG, 11);
  attachLora(model, { enabled: true, rank: 2, alpha: 4, targets: ["wq", "wo", "w1"] }, 2);
  // Non-zero adapters, so they take part in the comparison.
  setAdapterB(model, (_, size) => randomValues(size, 5, -0.3, 0.3));
  const B = 2, K = 3, T = CONFIG.textLength;
  const imageData = randomValues(B * 3 * 64, 4);
  const tasks = [TASK_TOKENS.synthetic, TASK_TOKENS.age];
  const answers = Array.from({ length: B * K * (T - 1) }, (_, i) => 3 + ((i * 7) % 15));
  const loss = (h: Tensor) => sum(mul(h, weights));
  const weights = tensorFrom(rt, randomValues(B * K * T * CONFIG.dim, 9), [B * K * T, CONFIG.dim]);
  const gradsOf = async (fn: () => Tensor) => {
    const h = fn();
    const values = await h.toArray();
    backward(loss(h), full(rt, [1], 1));
    const grads = new Map<string, Float32Array>();
    for (const [name, t] of model.lora) {
      if (t.grad) grads.set(name, await t.grad.toArray());
      t.grad?.release();
      t.grad = null;
    }
    return { values, grads };
  };
  const shared = await gradsOf(() =>
    encodeGroups(
      model,
      tensorFrom(rt, imageData, [B, 3, 8, 8]),
      tasks,
      tensorFrom(rt, answers, [B * K, T - 1], { dtype: "u32" }),
      K,
    )
  );
  const repeatedImages = Float64Array.from(
    { length: B * K * 192 },
    (_, i) => imageData[Math.floor(i / (K * 192)) * 192 + (i % 192)],
  );
  const text = Array.from({ length: B * K * T }, (_, i) => {
    const s = Math.floor(i / T), t = i % T;
    return t === 0 ? tasks[Math.floor(s / K)] : answers[s * (T - 1) + t - 1];
  });
  const plain = await gradsOf(() => {
    const h = encode(
      model,
      tensorFrom(rt, repeatedImages, [B * K, 3, 8, 8]),
      tensorFrom(rt, text, [B * K, T], { dtype: "u32" }),
    );
    return selectRows(h, textRows(model, B * K, T));
  });
  assert.ok(relativeError(shared.values, plain.values) < 1e-5);
  assert.ok(shared.grads.size > 0);
  for (const [name, g] of plain.grads) assert.ok(relativeError(shared.grads.get(name)!, g) < 1e-4, name);
});
