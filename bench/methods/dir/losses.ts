/**
 * Weighted per-sample regression losses of the DIR repositories (`loss.py`; methods.md §7.1):
 * `L = mean_i w_i · ℓ(ŷ_i − y_i)`, each returned with its exact gradient with respect to ŷ.
 *
 * The mean is over all B samples, whatever the weights (as `torch.mean(loss * weights)`); the weights
 * are constants (LDS weights carry no gradient).
 *
 * @module
 */

/** A loss over B predictions and its gradient ∂L/∂ŷ (length B). */
export interface PredLoss {
  readonly loss: number;
  readonly gradPred: Float64Array;
}

/** Focal options: `β` (default 0.2), `γ` (default 1), and the activation (`sigmoid` by default). */
export interface FocalOptions {
  readonly beta?: number;
  readonly gamma?: number;
  readonly activate?: "sigmoid" | "tanh";
}

/** Weighted L1, `mean_i w_i |ŷ_i − y_i|`; the subgradient at ŷ_i = y_i is 0, as torch's. */
export function weightedL1(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights?: ArrayLike<number>,
): PredLoss {
  return elementwise(pred, target, weights, (e) => [Math.abs(e), Math.sign(e)]);
}

/** Weighted MSE, `mean_i w_i (ŷ_i − y_i)²`. */
export function weightedMse(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights?: ArrayLike<number>,
): PredLoss {
  return elementwise(pred, target, weights, (e) => [e * e, 2 * e]);
}

/**
 * Weighted focal-L1, `mean_i w_i |e_i|·a(β|e_i|)^γ`, a = 2·sigmoid(x) − 1 or tanh(x) (methods.md §7.1,
 * β 0.2, γ 1). The gradient at e = 0 is 0.
 */
export function weightedFocalL1(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights?: ArrayLike<number>,
  options: FocalOptions = {},
): PredLoss {
  return focal(pred, target, weights, options, 1);
}

/** Weighted focal-MSE, `mean_i w_i e_i²·a(β|e_i|)^γ` (methods.md §7.1), as {@linkcode weightedFocalL1}. */
export function weightedFocalMse(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights?: ArrayLike<number>,
  options: FocalOptions = {},
): PredLoss {
  return focal(pred, target, weights, options, 2);
}

/** Weighted Huber (smooth L1), `½e²/β` where |e| < β, else `|e| − ½β`; β = 1 by default (methods.md §7.1). */
export function weightedHuber(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights?: ArrayLike<number>,
  beta = 1,
): PredLoss {
  if (!(beta > 0)) throw new RangeError(`beta must be > 0, got ${beta}`);
  return elementwise(pred, target, weights, (e) => {
    const a = Math.abs(e);
    return a < beta ? [0.5 * e * e / beta, e / beta] : [a - 0.5 * beta, Math.sign(e)];
  });
}

// |e|^p · a(β|e|)^γ and its derivative in e; a(x) = 2σ(x) − 1 = tanh(x/2), or tanh(x).
function focal(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  options: FocalOptions,
  p: 1 | 2,
): PredLoss {
  const beta = options.beta ?? 0.2, gamma = options.gamma ?? 1;
  const c = options.activate === "tanh" ? 1 : 0.5;
  return elementwise(pred, target, weights, (e) => {
    const x = Math.abs(e);
    if (x === 0) return [0, 0];
    const t = Math.tanh(c * beta * x);
    const base = x ** p, act = t ** gamma;
    // d/dx tanh(cβx) = cβ(1 − t²); the chain rule on x = |e| brings sign(e).
    const dx = p * x ** (p - 1) * act + base * gamma * t ** (gamma - 1) * c * beta * (1 - t * t);
    return [base * act, Math.sign(e) * dx];
  });
}

function elementwise(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  f: (e: number) => [number, number],
): PredLoss {
  const n = pred.length;
  if (target.length !== n) throw new RangeError(`${n} predictions but ${target.length} targets`);
  if (weights && weights.length !== n) throw new RangeError(`${n} predictions but ${weights.length} weights`);
  const gradPred = new Float64Array(n);
  if (n === 0) return { loss: 0, gradPred };
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i] : 1;
    const [l, d] = f(pred[i] - target[i]);
    loss += w * l;
    gradPred[i] = (w * d) / n;
  }
  return { loss: loss / n, gradPred };
}
