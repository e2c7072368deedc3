/**
 * Classical DIR baselines on the same image encoder with a scalar head (methods.md §7): `reg-l1`,
 * `reg-lds`, `reg-fds`, `reg-lds-fds`, `reg-ranksim`, `reg-bmse`. The encoder reads the image patches and
 * the task token; the head regresses the task token's final state. Each step runs the forward on the
 * GPU, reads back the B predictions (and features where RankSim needs them), computes the loss and its
 * exact gradients in float64 on the CPU (bench/methods/dir), and back-propagates them through the
 * encoder by the surrogate Σ ŷ·∂L/∂ŷ + Σ z·∂L/∂z, whose gradient is exactly the injected one.
 *
 * @module
 */

import { seededRng } from "../core/rng.ts";
import { binCount } from "../score/shots.ts";
import { backward, noGrad } from "../gpu/autograd.ts";
import { add, mul } from "../gpu/ops/elementwise.ts";
import { sum } from "../gpu/ops/reduce.ts";
import { full, readTensors, type Tensor, tensorFrom } from "../gpu/tensor.ts";
import { imageBatch, type ImageSet } from "../model/images.ts";
import { encode, patchCount, regress, selectRows, type Vlm } from "../model/vlm.ts";
import { bmcLoss, bniLoss, bniPrior, fitGmm1d, gaiLoss } from "./dir/bmse.ts";
import type { BinSpec } from "./dir/bins.ts";
import { FdsState } from "./dir/fds.ts";
import { ldsWeights } from "./dir/lds.ts";
import { weightedL1 } from "./dir/losses.ts";
import { ranksimLoss } from "./dir/ranksim.ts";
import { batchIndices, checkpointTensors, learningRate, makeOptimizer, stepsFor } from "./lm.ts";
import type { Method, MethodContext, Phase, TaskData } from "./method.ts";

/** What a regression method adds to plain L1. */
export interface RegressionRecipe {
  lds: boolean;
  fds: boolean;
  ranksim: boolean;
  bmse: boolean;
}

/** The task token's final state [B, D] of a batch of images: the features the head regresses. */
function features(model: Vlm, images: Tensor, task: number): Tensor {
  const B = images.shape[0], P = patchCount(model.config);
  const text = tensorFrom(images.rt, new Array(B).fill(task), [B, 1], { dtype: "u32" });
  const hidden = encode(model, images, text);
  return selectRows(hidden, Array.from({ length: B }, (_, b) => b * (P + 1) + P));
}

/** Label bins of a dataset (integer-width bins from the label minimum). */
export function labelBins(data: TaskData): BinSpec {
  const [min, max] = data.labelRange;
  return { min, binWidth: data.binWidth, bins: binCount({ min, max, binWidth: data.binWidth }) };
}

/** A scalar Adam for Balanced MSE's learnable noise σ (its own learning rate, as the reference). */
interface ScalarAdam {
  value: number;
  m: number;
  v: number;
  t: number;
}

function adamStep(s: ScalarAdam, grad: number, lr: number): void {
  s.t++;
  s.m = 0.9 * s.m + 0.1 * grad;
  s.v = 0.999 * s.v + 0.001 * grad * grad;
  s.value -= (lr * (s.m / (1 - 0.9 ** s.t))) / (Math.sqrt(s.v / (1 - 0.999 ** s.t)) + 1e-8);
}

function regressionPhase(ctx: MethodContext, recipe: RegressionRecipe): Phase {
  const { rt, config, data, model } = ctx;
  const r = config.regression;
  const optimizer = makeOptimizer(model, r.lr, config.optim);
  const labels = data.train.labels, n = labels.length;
  const steps = stepsFor(n, r.batch, r.epochs), perEpoch = Math.floor(n / r.batch);
  // The head predicts standardised labels; losses are computed in label units.
  const mean = labels.reduce((s, y) => s + y, 0) / n;
  const std = Math.sqrt(labels.reduce((s, y) => s + (y - mean) ** 2, 0) / n) || 1;
  const bins = labelBins(data);
  const lds = recipe.lds
    ? ldsWeights(labels, {
      bins,
      reweight: r.ldsReweight,
      lds: r.ldsReweight === "none" ? false : { kernel: r.ldsKernel, ks: r.ldsKs, sigma: r.ldsSigma },
    })
    : null;
  let fds = recipe.fds
    ? FdsState.create({
      dims: config.model.dim,
      bucketNum: bins.bins,
      bucketStart: 0,
      kernel: { kernel: "gaussian", ks: r.fdsKs, sigma: r.fdsSigma },
      momentum: r.fdsMomentum,
      startSmooth: r.fdsStartSmooth,
    })
    : null;
  const sigma: ScalarAdam = { value: r.bmseInitSigma, m: 0, v: 0, t: 0 };
  const gmm = recipe.bmse && r.bmseKind === "gai" ? fitGmm1d(labels) : null;
  const prior = recipe.bmse && r.bmseKind === "bni" ? bniPrior(labels, bins) : null;

  /** Features of every training image (no gradient), for FDS's epoch statistics. */
  const allFeatures = async (set: ImageSet): Promise<Float64Array> => {
    const D = config.model.dim, out = new Float64Array(set.count * D);
    for (let start = 0; start < set.count; start += config.eval.batch) {
      const idx = Array.from({ length: Math.min(config.eval.batch, set.count - start) }, (_, j) => start + j);
      const z = await rt.scope(() => noGrad(() => features(model, imageBatch(rt, set, idx), data.taskToken)));
      out.set(await z.toArray(), start * D);
      z.release();
    }
    return out;
  };

  return {
    steps,
    samplesPerStep: r.batch,
    async step(i) {
      const epoch = Math.floor(i / perEpoch);
      if (fds && i % perEpoch === 0) fds.startEpoch(epoch);
      const lr = learningRate(i, steps, r.lr, config.optim);
      optimizer.groups[0].lr = lr;
      const idx = batchIndices(i, n, r.batch, config.seed);
      const y = idx.map((j) => labels[j]), B = idx.length, D = config.model.dim;
      const loss = await rt.scope(async () => {
        let z = features(model, imageBatch(rt, data.train.images, idx), data.taskToken);
        if (fds) {
          const cal = fds.calibrate(new Float64Array(B * D), y, epoch);
          z = add(mul(z, tensorFrom(rt, cal.scale, [B, D])), tensorFrom(rt, cal.shift, [B, D]));
        }
        const out = regress(model, z);
        const [outValues, zValues] = await readTensors(rt, recipe.ranksim ? [out, z] : [out]);
        const pred = Float64Array.from(outValues, (v) => mean + std * v);
        let value: number, gradPred: Float64Array, gradZ: Float64Array | null = null;
        if (recipe.bmse) {
          const b = r.bmseKind === "bmc"
            ? bmcLoss(pred, y, sigma.value)
            : r.bmseKind === "gai"
            ? gaiLoss(pred, y, sigma.value, gmm!)
            : bniLoss(pred, y, sigma.value, prior!);
          value = b.loss;
          gradPred = b.gradPred;
          adamStep(sigma, b.gradSigma, r.bmseSigmaLr);
          sigma.value = Math.max(sigma.value, 1e-3);
        } else {
          const l = weightedL1(pred, y, lds ? lds.sampleWeights(y) : undefined);
          value = l.loss;
          gradPred = l.gradPred;
        }
        if (recipe.ranksim) {
          const rs = ranksimLoss(zValues!, y, {
            gamma: r.ranksimGamma,
            lambda: r.ranksimLambda,
            rng: seededRng((config.seed * 7_919 + i) >>> 0),
          });
          value += rs.loss;
          gradZ = rs.gradZ;
        }
        // dL/d(out) = std·dL/dŷ.
        let surrogate = sum(mul(out, tensorFrom(rt, gradPred.map((g) => g * std), [B, 1])));
        if (gradZ) surrogate = add(surrogate, sum(mul(z, tensorFrom(rt, gradZ, [B, D]))));
        backward(surrogate, full(rt, [1], 1));
        optimizer.update();
        optimizer.zeroGrad();
        return value;
      });
      if (fds && (i + 1) % perEpoch === 0) {
        fds.updateFromEpoch(await allFeatures(data.train.images), labels, epoch);
      }
      return { loss, lr, ...(recipe.bmse ? { noise_sigma: sigma.value } : {}) };
    },
    tensors: () => checkpointTensors(model, optimizer),
    state: () => ({ optimizerStep: optimizer.step, sigma: { ...sigma }, fds: fds?.toJSON() ?? null }),
    loadState(state) {
      const s = state as {
        optimizerStep: number;
        sigma: ScalarAdam;
        fds: ReturnType<FdsState["toJSON"]> | null;
      };
      optimizer.step = s.optimizerStep;
      Object.assign(sigma, s.sigma);
      if (s.fds) fds = FdsState.fromJSON(s.fds);
    },
    async predict() {
      const out: { value: number }[] = [];
      const set = data.test.images;
      for (let start = 0; start < set.count; start += config.eval.batch) {
        const idx = Array.from(
          { length: Math.min(config.eval.batch, set.count - start) },
          (_, j) => start + j,
        );
        const p = await rt.scope(() =>
          noGrad(() => regress(model, features(model, imageBatch(rt, set, idx), data.taskToken)))
        );
        for (const v of await p.toArray()) out.push({ value: mean + std * v });
        p.release();
      }
      return out;
    },
  };
}

function regressionMethod(id: string, recipe: RegressionRecipe, description: string): Method {
  return { id, family: "regression", description, start: (ctx) => regressionPhase(ctx, recipe) };
}

const NONE: RegressionRecipe = { lds: false, fds: false, ranksim: false, bmse: false };

/** The classical DIR methods, in listing order. */
export const REGRESSION_METHODS: readonly Method[] = [
  regressionMethod("reg-l1", NONE, "regression head with L1 loss"),
  regressionMethod("reg-lds", { ...NONE, lds: true }, "L1 weighted by LDS (sqrt-inverse, gaussian ks 5 σ 2)"),
  regressionMethod(
    "reg-fds",
    { ...NONE, fds: true },
    "L1 with FDS feature calibration (gaussian ks 5 σ 2, momentum 0.9)",
  ),
  regressionMethod(
    "reg-lds-fds",
    { ...NONE, lds: true, fds: true },
    "LDS weights and FDS calibration together",
  ),
  regressionMethod("reg-ranksim", { ...NONE, ranksim: true }, "L1 + RankSim regulariser (γ 100, λ 2)"),
  regressionMethod(
    "reg-bmse",
    { ...NONE, bmse: true },
    "Balanced MSE (BMC by default; GAI, BNI) with learnable noise σ",
  ),
];
