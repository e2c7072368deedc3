/**
 * Tensors: a shape, a dtype and a GPU buffer from the runtime's pool, plus what autograd needs (whether
 * a gradient is wanted, the gradient, and the node that produced the tensor).
 *
 * @module
 */

import { f32Bits, type Program, type Runtime } from "./runtime.ts";

/** Element types. `f16` is storage only (kernels accumulate in f32) and needs `shader-f16`. */
export type DType = "f32" | "f16" | "u32" | "i32";

/** Bytes per element. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = { f32: 4, f16: 2, u32: 4, i32: 4 };

/** What produced a tensor, and how to send its gradient back to the inputs. */
export interface GradNode {
  /** Op name, for debugging. */
  op: string;
  /** The inputs, in the order `backward` returns their gradients. */
  inputs: readonly Tensor[];
  /**
   * Gradients of the inputs given the output's gradient (null where an input needs none). `take(i)` hands
   * over the gradient input i has gathered so far from other consumers (null if none): an op that takes it
   * returns input i's gradient with it added (e.g. in a matmul's epilogue, saving the separate add), and
   * owns it.
   */
  backward: (grad: Tensor, take: (input: number) => Tensor | null) => (Tensor | null)[];
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks a shape: non-negative integer dimensions. */
export function checkShape(shape: readonly number[], what = "shape"): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`${what} [${shape.join(", ")}] must have non-negative integer dimensions`);
  }
}

/** A pooled buffer and how many tensors hold it (a tensor and its reshaped views). */
interface Storage {
  buffer: GPUBuffer;
  holders: number;
}

/** A tensor in GPU memory. */
export class Tensor {
  readonly rt: Runtime;
  readonly shape: readonly number[];
  readonly dtype: DType;
  #storage: Storage | null;
  /** Whether gradients flow to (and, for a leaf, accumulate in) this tensor. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after `backward`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded for autograd. */
  node: GradNode | null = null;
  /** Optional name, e.g. a parameter's path in the model. */
  name?: string;

  /**
   * A tensor of `shape` in a fresh buffer from the pool, or sharing `viewOf`'s buffer (same dtype and
   * element count: a reshape that copies nothing). A shared buffer goes back to the pool when the last
   * tensor holding it is released.
   */
  constructor(rt: Runtime, shape: readonly number[], dtype: DType = "f32", viewOf?: Tensor) {
    checkShape(shape);
    this.rt = rt;
    // A copy, not frozen: V8 takes slow paths for slicing and destructuring frozen arrays (about 10× on
    // Deno 2.9), and shapes are sliced on every op. `readonly` keeps them unchanged at compile time.
    this.shape = [...shape];
    this.dtype = dtype;
    if (viewOf) {
      if (viewOf.dtype !== dtype || viewOf.size !== numel(shape)) {
        throw new RangeError(
          `a view [${shape.join(", ")}] ${dtype} of [${
            viewOf.shape.join(", ")
          }] ${viewOf.dtype} must keep dtype and size`,
        );
      }
      this.#storage = viewOf.#storage;
      if (!this.#storage) throw new Error(`a view of a released tensor [${viewOf.shape.join(", ")}]`);
      this.#storage.holders++;
    } else {
      this.#storage = { buffer: rt.acquire(Math.max(4, numel(shape) * DTYPE_BYTES[dtype])), holders: 1 };
    }
    rt.track(this);
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  /** Bytes of data (not of the pooled buffer, which may be larger). */
  get bytes(): number {
    return this.size * DTYPE_BYTES[this.dtype];
  }

  /** The GPU buffer; throws after {@linkcode Tensor.release}. */
  get buffer(): GPUBuffer {
    if (!this.#storage) {
      throw new Error(`tensor${this.name ? ` ${this.name}` : ""} [${this.shape}] was released`);
    }
    return this.#storage.buffer;
  }

  /** Whether this tensor has let go of its buffer. */
  get released(): boolean {
    return this.#storage === null;
  }

  /** Lets go of the buffer (back to the pool unless a view still holds it). The tensor must not be used afterwards. */
  release(): void {
    if (this.#storage && --this.#storage.holders === 0) this.rt.release(this.#storage.buffer);
    this.#storage = null;
  }

  /** Reads the values back (f16 and integer tensors are converted to numbers). Costs a GPU sync. */
  async toArray(): Promise<Float32Array> {
    return numbersOf(await this.rt.read(this.buffer, this.bytes), this.dtype);
  }
}

/** Reads every tensor back in one GPU sync: their values as numbers, in order (see {@linkcode Tensor.toArray}). */
export async function readTensors(rt: Runtime, tensors: readonly Tensor[]): Promise<Float32Array[]> {
  const raw = await rt.readMany(tensors.map((t) => ({ buffer: t.buffer, bytes: t.bytes })));
  return raw.map((bytes, i) => numbersOf(bytes, tensors[i].dtype));
}

function numbersOf(raw: ArrayBuffer, dtype: DType): Float32Array {
  switch (dtype) {
    case "f32":
      return new Float32Array(raw);
    case "f16":
      return Float32Array.from(new Float16Array(raw));
    case "u32":
      return Float32Array.from(new Uint32Array(raw));
    case "i32":
      return Float32Array.from(new Int32Array(raw));
  }
}

/** Creates a tensor holding `data` (converted to `dtype`). */
export function tensorFrom(
  rt: Runtime,
  data: ArrayLike<number>,
  shape: readonly number[],
  options: { dtype?: DType; requiresGrad?: boolean; name?: string } = {},
): Tensor {
  const dtype = options.dtype ?? "f32";
  if (data.length !== numel(shape)) {
    throw new RangeError(
      `${data.length} values do not fill shape [${shape.join(", ")}] (${numel(shape)} elements)`,
    );
  }
  if (dtype === "f16" && !rt.gpu.f16) throw new RangeError("f16 tensors need the shader-f16 feature");
  const t = new Tensor(rt, shape, dtype);
  // (writeBuffer copies the bytes at once, so a caller's Float32Array is uploaded as it is.)
  const typed = dtype === "f32"
    ? data instanceof Float32Array ? data : Float32Array.from(data)
    : dtype === "f16"
    ? Float16Array.from(data)
    : dtype === "u32"
    ? Uint32Array.from(data)
    : Int32Array.from(data);
  // writeBuffer needs a multiple of 4 bytes; an odd-length f16 array gets one padding element.
  const padded = typed.byteLength % 4 === 0 ? typed : (() => {
    const p = new Uint8Array(Math.ceil(typed.byteLength / 4) * 4);
    p.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
    return p;
  })();
  rt.write(t.buffer, padded);
  t.requiresGrad = options.requiresGrad ?? false;
  t.name = options.name;
  return t;
}

const FILL_WG = 256;

const fillProgram: Program = {
  key: "tensor:fill",
  code: () =>
    `struct U { n: u32, bits: u32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> O: array<u32>;
@compute @workgroup_size(${FILL_WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${FILL_WG}u;
  if (i < u.n) { O[i] = u.bits; }
}`,
};

/** The 32-bit word that repeats `value` in `dtype` (an f16 twice). */
function fillBits(value: number, dtype: DType): number {
  switch (dtype) {
    case "f32":
      return f32Bits(value);
    case "f16": {
      const h = new Uint16Array(Float16Array.of(value).buffer)[0];
      return (h | (h << 16)) >>> 0;
    }
    case "u32":
      return value >>> 0;
    case "i32":
      return (value | 0) >>> 0;
  }
}

/**
 * A tensor of `value` (default 0), filled by a kernel: no host array and no upload, which for the
 * megabyte-sized KV caches of sampling cost more host time than the rest of a decoding batch.
 */
export function full(rt: Runtime, shape: readonly number[], value = 0, dtype: DType = "f32"): Tensor {
  const t = new Tensor(rt, shape, dtype);
  const words = Math.ceil((numel(shape) * DTYPE_BYTES[dtype]) / 4);
  if (words === 0) return t;
  const groups = Math.ceil(words / FILL_WG), max = rt.maxWorkgroups;
  const grid: [number, number] = groups <= max ? [groups, 1] : [max, Math.ceil(groups / max)];
  rt.dispatch(fillProgram, [t.buffer], grid, [words, fillBits(value, dtype), 0, 0]);
  return t;
}
