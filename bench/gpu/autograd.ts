/**
 * Reverse-mode autograd over the graph that ops record as they run (micrograd/tinygrad style): each
 * output remembers its inputs and a backward function; {@linkcode backward} walks the graph in reverse
 * topological order and accumulates gradients in the leaves.
 *
 * @module
 */

import type { GradNode, Tensor } from "./tensor.ts";

let enabled = true;

/** Runs `fn` without recording any op for autograd (sampling, frozen reference models, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const before = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = before;
  }
}

/** Whether ops are being recorded. */
export function gradEnabled(): boolean {
  return enabled;
}

/**
 * Records `out` as produced by `op` from `inputs`, when recording is on and any input wants a gradient.
 * Ops call this; `backward` gets the output gradient and returns one gradient (or null) per input, all
 * distinct tensors: fresh ones, or the incoming gradient itself for one input where it passes through
 * unchanged (an add's, a residual's), which saves a copy. An incoming gradient not passed on is released
 * after the call.
 */
export function record(
  out: Tensor,
  op: string,
  inputs: readonly Tensor[],
  backward: GradNode["backward"],
): Tensor {
  if (enabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Adds two same-shaped gradients; injected by the elementwise ops to avoid an import cycle. */
let accumulate: ((a: Tensor, b: Tensor) => Tensor) | undefined;

/** Registers the gradient accumulation op (called once by ops/elementwise.ts). */
export function setAccumulator(add: (a: Tensor, b: Tensor) => Tensor): void {
  accumulate = add;
}

/**
 * Back-propagates from `root` (usually a scalar loss) with output gradient `grad`, accumulating into the
 * `.grad` of every leaf that requires a gradient. Intermediate gradients are released as soon as they
 * have been propagated, and the graph is cut afterwards so its memory can be reused.
 */
export function backward(root: Tensor, grad: Tensor): void {
  if (!accumulate) {
    throw new Error("autograd: no accumulation op registered (import bench/gpu/ops/elementwise.ts)");
  }
  if (grad.shape.join() !== root.shape.join()) {
    throw new RangeError(`backward: gradient shape [${grad.shape}] does not match [${root.shape}]`);
  }
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const visit = (t: Tensor) => {
    // Iterative DFS: deep models would overflow the call stack with recursion.
    const stack: [Tensor, number][] = [[t, 0]];
    while (stack.length > 0) {
      const [node, i] = stack[stack.length - 1];
      if (i === 0 && seen.has(node)) {
        stack.pop();
        continue;
      }
      seen.add(node);
      const inputs = node.node?.inputs ?? [];
      if (i < inputs.length) {
        stack[stack.length - 1][1]++;
        if (inputs[i].requiresGrad && !seen.has(inputs[i])) stack.push([inputs[i], 0]);
      } else {
        stack.pop();
        order.push(node);
      }
    }
  };
  visit(root);
  const grads = new Map<Tensor, Tensor>([[root, grad]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    if (!g) continue;
    grads.delete(t);
    if (!t.node) {
      t.grad = t.grad ? swap(t.grad, accumulate(t.grad, g), g) : g;
      // A leaf's gradient outlives the step's scope; the optimiser's zeroGrad releases it.
      t.rt.untrack(t.grad);
      continue;
    }
    const inputs = t.node.inputs;
    const inputGrads = t.node.backward(g, (i) => {
      const had = grads.get(inputs[i]) ?? null;
      grads.delete(inputs[i]);
      return had;
    });
    const given = inputGrads.filter((x): x is Tensor => !!x);
    if (new Set(given).size !== given.length) {
      throw new Error(`autograd: ${t.node.op}'s backward must return distinct tensors`);
    }
    // Unless passed on to an input, the incoming gradient is done with.
    if (g !== grad && !given.includes(g)) g.release();
    t.node.inputs.forEach((input, i) => {
      const ig = inputGrads[i];
      if (!ig || !input.requiresGrad) {
        ig?.release();
        return;
      }
      const had = grads.get(input);
      grads.set(input, had ? swap(had, accumulate!(had, ig), ig) : ig);
    });
    t.node = null;
  }
}

function swap(old: Tensor, sum: Tensor, addend: Tensor): Tensor {
  old.release();
  addend.release();
  return sum;
}
