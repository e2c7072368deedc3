/**
 * The runtime under every op: a buffer pool, a pipeline cache keyed by shader key, and a recorder that
 * puts all dispatches into one command encoder (one compute pass) until something must be read back.
 * A whole training step is therefore recorded into one encoder and submitted once; nothing is read
 * unless asked, since a readback costs about 10 ms in Deno.
 *
 * @module
 */

import type { Gpu } from "./device.ts";

/** A compute program: WGSL source and the key its pipeline is cached under. */
export interface Program {
  /** Unique per distinct source; programs with equal keys share a pipeline. */
  key: string;
  /** Builds the WGSL source (called once per key). */
  code: () => string;
}

/** A dispatch's resource: a storage buffer, or a texture view (a read-only storage texture). */
export type Binding = GPUBuffer | GPUTextureView;

/**
 * A dispatch's uniform block as its 32-bit words (u32 values; f32 fields through {@linkcode f32Bits}). A
 * plain array, not a typed one: a typed array costs about 1 µs of host time to allocate in Deno 2.9, as
 * much as the rest of recording a dispatch.
 */
export type Uniforms = readonly number[];

const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

/** The bits of `x` as an f32, as a u32 uniform word (WGSL reads it with `bitcast<f32>`). */
export function f32Bits(x: number): number {
  bitsF32[0] = x;
  return bitsU32[0];
}

/** Formats of the texel textures ({@linkcode Runtime.texels}): 4 f32 or 4 f16 per texel. */
export type TexelFormat = "rgba32float" | "rgba16float";

/**
 * Width in texels of the textures {@linkcode Runtime.texels} fills: a buffer is laid out row by row, so
 * linear texel t is at (t % TEXEL_WIDTH, t / TEXEL_WIDTH). A power of two (the shaders use a mask and a
 * shift); 1024 texels make rows of 16 KiB (f32), a multiple of the 256-byte copy row alignment, and the
 * tallest texture (8192 rows) holds 8 Mi texels.
 */
export const TEXEL_WIDTH = 1024;

/** Bytes reserved per dispatch for its uniforms (the minimum uniform offset alignment). */
export const UNIFORM_SLOT = 256;
const UNIFORM_PAGE = 64 * 1024;
/** Cached bind groups kept at most (a training step of the paper preset uses a few thousand). */
const BIND_GROUP_CACHE = 32_768;
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** The bind-group cache: one level per key part, the group itself under {@linkcode BIND_GROUP}. */
type BindGroupTrie = Map<unknown, BindGroupTrie | GPUBindGroup>;
const BIND_GROUP = Symbol("bind group");

/** The trie node under `key`, created when missing. */
function child(node: BindGroupTrie, key: unknown): BindGroupTrie {
  let next = node.get(key) as BindGroupTrie | undefined;
  if (!next) node.set(key, next = new Map());
  return next;
}

/** Counters for benchmarks and tests. */
export interface RuntimeStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  pipelines: number;
  buffersCreated: number;
  bytesInPool: number;
  /** Bind groups created; dispatches beyond this count reused a cached one. */
  bindGroups: number;
}

/** Rounds a byte size up to a pool size class: powers of two below 1 MiB, then multiples of 1 MiB. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 1 << 20) return 1 << (32 - Math.clz32(b - 1));
  return Math.ceil(b / (1 << 20)) * (1 << 20);
}

/** Timestamp queries per query set while profiling (two per dispatch). */
const PROFILE_QUERIES = 4096;

/** GPU time of one kernel (shader key) over a profile. */
export interface KernelProfile {
  /** The shader key. */
  key: string;
  /** Dispatches of it. */
  dispatches: number;
  /** Time inside its passes, milliseconds. */
  ms: number;
  /** Time between the previous kernel's end and its start (queue copies, e.g. texture staging). */
  gapMs: number;
}

interface ProfileState {
  querySet: GPUQuerySet | null;
  keys: string[];
  pending: { staging: GPUBuffer; keys: string[]; querySet: GPUQuerySet; resolved: GPUBuffer }[];
}

/** One GPU's runtime state. Use {@linkcode runtimeFor} to get the shared one. */
export class Runtime {
  readonly gpu: Gpu;
  readonly device: GPUDevice;
  readonly stats: RuntimeStats = {
    dispatches: 0,
    submits: 0,
    readbacks: 0,
    pipelines: 0,
    buffersCreated: 0,
    bytesInPool: 0,
    bindGroups: 0,
  };
  #free = new Map<number, GPUBuffer[]>();
  #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #pages: { buffer: GPUBuffer; words: Uint32Array<ArrayBuffer>; used: number }[] = [];
  #scopes: Set<{ release(): void }>[] = [];
  #freePages: GPUBuffer[] = [];
  #stagedUploads: GPUBuffer[] = [];
  #freeUploads = new Map<number, GPUBuffer[]>();
  #freeTextures = new Map<string, { texture: GPUTexture; view: GPUTextureView }[]>();
  #textureOf = new WeakMap<GPUTextureView, { texture: GPUTexture; key: string }>();
  #profile: ProfileState | null = null;
  #ids = new WeakMap<object, number>();
  #lastId = 0;
  #bindGroups: BindGroupTrie = new Map();
  #bindGroupCount = 0;
  #layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  #sizeOf = new WeakMap<GPUBuffer, number>();
  readonly #maxBinding: number;

  /**
   * The adapter's workgroups per dispatch dimension (its limits are fixed; reading one through the
   * GPUSupportedLimits getter costs a call into Deno's native code per dispatch).
   */
  readonly maxWorkgroups: number;

  constructor(gpu: Gpu) {
    this.gpu = gpu;
    this.device = gpu.device;
    this.maxWorkgroups = gpu.limits.maxComputeWorkgroupsPerDimension;
    this.#maxBinding = gpu.limits.maxStorageBufferBindingSize;
  }

  /** Registers a new tensor with the innermost open scope (tensors call this when created). */
  track(t: { release(): void }): void {
    this.#scopes.at(-1)?.add(t);
  }

  /** Removes a tensor from every open scope: it now lives as long as its owner (e.g. a leaf's gradient). */
  untrack(t: { release(): void }): void {
    for (const scope of this.#scopes) scope.delete(t);
  }

  /**
   * Runs `fn` and then releases every tensor created during it, except those in `keep` and those `fn`
   * returns (a tensor or an array of tensors). A training step runs in one scope, so its activations
   * and gradients go back to the pool when it ends.
   */
  async scope<T>(fn: () => T | Promise<T>, keep: readonly { release(): void }[] = []): Promise<T> {
    const tracked = new Set<{ release(): void }>();
    this.#scopes.push(tracked);
    let result: T;
    try {
      result = await fn();
    } finally {
      this.#scopes.splice(this.#scopes.indexOf(tracked), 1);
    }
    const kept = new Set<unknown>([...keep, ...(Array.isArray(result) ? result : [result])]);
    for (const t of tracked) {
      if (kept.has(t)) this.#scopes.at(-1)?.add(t);
      else t.release();
    }
    this.#sortPools();
    return result;
  }

  /** A storage buffer of at least `bytes` bytes from the pool (contents undefined). */
  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.#maxBinding) {
      throw new RangeError(
        `a ${bytes}-byte tensor exceeds this adapter's storage binding limit of ${this.#maxBinding} bytes`,
      );
    }
    const reuse = this.#free.get(size)?.pop();
    if (reuse) {
      this.stats.bytesInPool -= size;
      return reuse;
    }
    this.stats.buffersCreated++;
    const buffer = this.device.createBuffer({ size, usage: STORAGE });
    this.#sizeOf.set(buffer, size);
    return buffer;
  }

  /**
   * Returns a buffer to the pool. Safe while recorded commands still use it: later commands run after
   * earlier ones on the queue, so a reuse can only overwrite the data after its last reader.
   */
  release(buffer: GPUBuffer): void {
    // The size as acquire recorded it: GPUBuffer.size is a call into Deno's native code.
    const size = this.#sizeOf.get(buffer) ?? buffer.size;
    const list = this.#free.get(size) ?? [];
    list.push(buffer);
    this.#free.set(size, list);
    this.stats.bytesInPool += size;
  }

  /**
   * A read-only view of `texels` 4-element texels of `buffer` (from offset 0) as a 2-D storage texture of
   * width {@linkcode TEXEL_WIDTH}: a pooled texture, filled by copy commands recorded now (so it holds
   * the buffer's contents as of this point in the command stream). Return it with
   * {@linkcode Runtime.releaseTexels} once the dispatches reading it are recorded.
   *
   * Why: on the software adapter (llvmpipe, Mesa 22.3) every storage-buffer or workgroup-memory load
   * runs as a branchy per-invocation scalar loop, about 16 ns per vec4 per invocation, while a storage
   * texture load is a plain gather, about 1 ns (probe on 2 cores, 2026-11-26). Kernels that read an
   * operand many times therefore read it through a texture; the copy costs about one memcpy.
   */
  texels(buffer: GPUBuffer, texels: number, format: TexelFormat = "rgba32float"): GPUTextureView {
    const rows = Math.max(1, Math.ceil(texels / TEXEL_WIDTH));
    const max = this.gpu.limits.maxTextureDimension2D ?? 8192;
    if (rows > max) throw new RangeError(`${texels} texels exceed a ${TEXEL_WIDTH}×${max} texture`);
    const height = Math.min(max, 2 ** Math.ceil(Math.log2(rows)));
    const key = `${format}:${height}`;
    const entry = this.#freeTextures.get(key)?.pop() ?? this.#newTexture(format, height, key);
    this.#pass?.end();
    this.#pass = null;
    this.#encoder ??= this.device.createCommandEncoder();
    const bytesPerRow = TEXEL_WIDTH * (format === "rgba32float" ? 16 : 8);
    const full = Math.floor(texels / TEXEL_WIDTH), rest = texels % TEXEL_WIDTH;
    if (full > 0) {
      this.#encoder.copyBufferToTexture({ buffer, bytesPerRow }, { texture: entry.texture }, [
        TEXEL_WIDTH,
        full,
      ]);
    }
    if (rest > 0) {
      this.#encoder.copyBufferToTexture(
        { buffer, offset: full * bytesPerRow, bytesPerRow },
        { texture: entry.texture, origin: [0, full] },
        [rest, 1],
      );
    }
    return entry.view;
  }

  #newTexture(
    format: TexelFormat,
    height: number,
    key: string,
  ): { texture: GPUTexture; view: GPUTextureView } {
    const texture = this.device.createTexture({
      size: [TEXEL_WIDTH, height],
      format,
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    });
    const view = texture.createView();
    this.#textureOf.set(view, { texture, key });
    return { texture, view };
  }

  /** Returns a texture from {@linkcode Runtime.texels} to the pool (safe while recorded commands use it). */
  releaseTexels(view: GPUTextureView): void {
    const t = this.#textureOf.get(view);
    if (!t) throw new Error("releaseTexels: not a pooled texel texture");
    const list = this.#freeTextures.get(t.key) ?? [];
    list.push({ texture: t.texture, view });
    this.#freeTextures.set(t.key, list);
  }

  /**
   * Puts every free list of the pools in a fixed order. Why: a training step takes and returns buffers in
   * an order that permutes the free lists, so without this each step would get its buffers in a different
   * arrangement and create new bind groups; in a fixed order every step starts from the same pool state,
   * gets the same buffers for the same tensors, and finds all its bind groups in the cache.
   */
  #sortPools(): void {
    const byId = (a: object, b: object) => this.#idOf(b) - this.#idOf(a);
    for (const list of this.#free.values()) list.sort(byId);
    for (const list of this.#freeTextures.values()) list.sort((a, b) => byId(a.view, b.view));
  }

  /** The cached pipeline of a program, compiling it on first use (the WGSL is shown on failure). */
  pipeline(program: Program): GPUComputePipeline {
    let p = this.#pipelines.get(program.key);
    if (!p) {
      const code = program.code();
      const module = this.device.createShaderModule({ code, label: program.key });
      p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
        label: program.key,
      });
      this.#pipelines.set(program.key, p);
      this.stats.pipelines++;
    }
    return p;
  }

  #uniformSlot(uniforms: Uniforms): { buffer: GPUBuffer; offset: number } {
    const byteLength = uniforms.length * 4;
    if (byteLength > UNIFORM_SLOT) {
      throw new RangeError(`uniforms of ${byteLength} bytes exceed ${UNIFORM_SLOT}`);
    }
    let page = this.#pages.at(-1);
    if (!page || page.used + UNIFORM_SLOT > UNIFORM_PAGE) {
      const buffer = this.#freePages.pop() ??
        this.device.createBuffer({
          size: UNIFORM_PAGE,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        });
      page = { buffer, words: new Uint32Array(UNIFORM_PAGE / 4), used: 0 };
      this.#pages.push(page);
    }
    const offset = page.used;
    page.words.set(uniforms, offset / 4);
    page.used += UNIFORM_SLOT;
    return { buffer: page.buffer, offset };
  }

  #computePass(): GPUComputePassEncoder {
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass ??= this.#encoder.beginComputePass();
    return this.#pass;
  }

  /**
   * Records one dispatch. Binding 0 is the uniform block (when `uniforms` is given), then `buffers` (storage
   * buffers or texture views) in order from binding 1 (or 0 without uniforms).
   */
  dispatch(
    program: Program,
    buffers: readonly Binding[],
    workgroups: readonly [number, number?, number?],
    uniforms?: Uniforms,
  ): void {
    const pipeline = this.pipeline(program);
    const slot = uniforms ? this.#uniformSlot(uniforms) : null;
    const bindGroup = this.#bindGroup(pipeline, slot, buffers);
    const pass = this.#profile ? this.#profiledPass(program.key) : this.#computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = workgroups;
    const max = this.maxWorkgroups;
    if (x > max || y > max || z > max) {
      throw new RangeError(`${program.key}: dispatch ${x}×${y}×${z} exceeds ${max} workgroups per dimension`);
    }
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
  }

  /**
   * The bind group of a dispatch, from a cache keyed by the pipeline and the identity of every binding.
   * Why: creating a bind group costs about 30 µs of CPU in Deno (2.9.6, measured on lavapipe) against about
   * 2.5 µs for the rest of a dispatch, and the small models of this project are dispatch-bound. A training
   * step acquires the same pooled buffers and uniform slots in the same order every time, so after the
   * first step nearly every dispatch finds its bind group here. Uniform contents are not part of the key:
   * a bind group names a slot, and the slot is rewritten before every submit. The cache is a trie of maps
   * keyed by the objects themselves (pipeline, uniform page, slot offset, each binding), so a lookup
   * builds no key string.
   */
  #bindGroup(
    pipeline: GPUComputePipeline,
    slot: { buffer: GPUBuffer; offset: number } | null,
    buffers: readonly Binding[],
  ): GPUBindGroup {
    let node = child(this.#bindGroups, pipeline);
    if (slot) node = child(child(node, slot.buffer), slot.offset);
    for (let i = 0; i < buffers.length; i++) node = child(node, buffers[i]);
    let group = node.get(BIND_GROUP) as GPUBindGroup | undefined;
    if (group) return group;
    // A bound on the cache's size for workloads whose bindings never repeat (each entry keeps its buffers
    // alive): past it the cache starts over.
    if (this.#bindGroupCount >= BIND_GROUP_CACHE) {
      this.#bindGroups = new Map();
      this.#bindGroupCount = 0;
      return this.#bindGroup(pipeline, slot, buffers);
    }
    let layout = this.#layouts.get(pipeline);
    if (!layout) {
      layout = pipeline.getBindGroupLayout(0);
      this.#layouts.set(pipeline, layout);
    }
    const entries: GPUBindGroupEntry[] = [];
    if (slot) {
      entries.push({
        binding: 0,
        resource: { buffer: slot.buffer, offset: slot.offset, size: UNIFORM_SLOT },
      });
    }
    const base = slot ? 1 : 0;
    buffers.forEach((b, i) =>
      entries.push({ binding: base + i, resource: b instanceof GPUBuffer ? { buffer: b } : b })
    );
    group = this.device.createBindGroup({ layout, entries });
    node.set(BIND_GROUP, group);
    this.#bindGroupCount++;
    this.stats.bindGroups++;
    return group;
  }

  #idOf(resource: object): number {
    let id = this.#ids.get(resource);
    if (id === undefined) {
      id = ++this.#lastId;
      this.#ids.set(resource, id);
    }
    return id;
  }

  /** Records a buffer copy (ends the current compute pass). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.#pass?.end();
    this.#pass = null;
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, Math.ceil(bytes / 4) * 4);
  }

  /**
   * Starts timing every dispatch with timestamp queries, each in a pass of its own, until
   * {@linkcode Runtime.stopProfile}. The time between one kernel's end and the next one's start is
   * charged to the next kernel as `gapMs`: queue copies such as texture staging, pass changes, and the GPU
   * waiting for the CPU when a submit boundary (an upload, a readback) lies between them.
   *
   * @throws {Error} When the device was opened without `timestamp-query`.
   */
  startProfile(): void {
    if (!this.gpu.timestamps) {
      throw new Error(
        `profiling needs the timestamp-query feature, which ${this.gpu.info.description} lacks`,
      );
    }
    this.flush();
    this.#profile = { querySet: null, keys: [], pending: [] };
  }

  /** Ends profiling and returns the time per kernel (shader key), most expensive first. */
  async stopProfile(): Promise<KernelProfile[]> {
    const state = this.#profile;
    if (!state) throw new Error("stopProfile: no profile was started");
    this.#resolveProfile();
    this.flush();
    this.#profile = null;
    const byKey = new Map<string, KernelProfile>();
    let previousEnd: bigint | null = null;
    for (const { staging, keys, querySet, resolved } of state.pending) {
      await staging.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      // Destroyed here, once the GPU is done with them, rather than left to the garbage collector.
      staging.destroy();
      resolved.destroy();
      querySet.destroy();
      keys.forEach((key, i) => {
        const begin = stamps[2 * i], end = stamps[2 * i + 1];
        const row = byKey.get(key) ?? { key, dispatches: 0, ms: 0, gapMs: 0 };
        row.dispatches++;
        row.ms += Number(end - begin) / 1e6;
        if (previousEnd !== null && begin > previousEnd) row.gapMs += Number(begin - previousEnd) / 1e6;
        previousEnd = end;
        byKey.set(key, row);
      });
    }
    this.throwErrors();
    return [...byKey.values()].sort((a, b) => b.ms + b.gapMs - (a.ms + a.gapMs));
  }

  #profiledPass(key: string): GPUComputePassEncoder {
    const state = this.#profile!;
    if (state.keys.length === PROFILE_QUERIES / 2) this.#resolveProfile();
    state.querySet ??= this.device.createQuerySet({ type: "timestamp", count: PROFILE_QUERIES });
    this.#pass?.end();
    this.#encoder ??= this.device.createCommandEncoder();
    const index = 2 * state.keys.length;
    state.keys.push(key);
    this.#pass = this.#encoder.beginComputePass({
      timestampWrites: {
        querySet: state.querySet,
        beginningOfPassWriteIndex: index,
        endOfPassWriteIndex: index + 1,
      },
    });
    return this.#pass;
  }

  /** Records the resolution of the profile's current query set into a buffer to read at the end. */
  #resolveProfile(): void {
    const state = this.#profile!;
    if (!state.querySet || state.keys.length === 0) return;
    this.#pass?.end();
    this.#pass = null;
    this.#encoder ??= this.device.createCommandEncoder();
    const bytes = state.keys.length * 16;
    const resolved = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#encoder.resolveQuerySet(state.querySet, 0, state.keys.length * 2, resolved, 0);
    this.#encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    state.pending.push({ staging, keys: state.keys, querySet: state.querySet, resolved });
    state.keys = [];
    // The resolved set may be overwritten only after this command buffer: use a fresh one.
    state.querySet = null;
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    if (!this.#encoder) return;
    this.#pass?.end();
    this.#pass = null;
    // Offset and size in elements (words) for a typed array.
    for (const page of this.#pages) {
      this.device.queue.writeBuffer(page.buffer, 0, page.words, 0, page.used / 4);
    }
    this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    // The queue orders the next flush's uniform writes after this submit, so the pages can be reused.
    // Reversed so that the next flush takes them in the same order (the same slots, the same bind groups).
    this.#freePages.push(...this.#pages.map((p) => p.buffer).reverse());
    this.#pages = [];
    for (const staging of this.#stagedUploads) {
      const list = this.#freeUploads.get(staging.size) ?? [];
      list.push(staging);
      this.#freeUploads.set(staging.size, list);
    }
    this.#stagedUploads = [];
    this.stats.submits++;
  }

  /** Flushes, copies `bytes` of `buffer` to a staging buffer and reads them (waits for the GPU). */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    return (await this.readMany([{ buffer, bytes, offset }]))[0];
  }

  /**
   * Reads several buffer ranges with one staging buffer and one map. In Deno every map waits about 10 ms
   * (its map loop sleeps 10 ms between device polls; 11.5 ms measured for 4 bytes, on lavapipe and on an
   * H200), so code that reads often reads many things at once.
   */
  async readMany(
    parts: readonly { buffer: GPUBuffer; bytes: number; offset?: number }[],
  ): Promise<ArrayBuffer[]> {
    const starts: number[] = [];
    let size = 0;
    for (const part of parts) {
      starts.push(size);
      size += Math.ceil(part.bytes / 4) * 4;
    }
    const staging = this.device.createBuffer({
      size: Math.max(4, size),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    parts.forEach((part, i) => {
      if (part.bytes > 0) this.copy(part.buffer, staging, part.bytes, part.offset ?? 0, starts[i]);
    });
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
      this.throwErrors();
      const all = staging.getMappedRange();
      const out = parts.map((part, i) => all.slice(starts[i], starts[i] + part.bytes));
      staging.unmap();
      this.stats.readbacks++;
      return out;
    } finally {
      staging.destroy();
    }
  }

  /** Throws (and clears) the WebGPU errors reported since the last check: a shader that failed to compile, a
   * validation failure. They arrive asynchronously, so the next readback is where they surface. */
  throwErrors(): void {
    if (this.gpu.errors.length === 0) return;
    const errors = this.gpu.errors.splice(0);
    throw new Error(`WebGPU reported ${errors.length} error(s); the first: ${errors[0]}`);
  }

  /**
   * Uploads bytes into a buffer, ordered after everything recorded so far and before everything recorded
   * next. With commands recorded and not yet submitted, the bytes go to a pooled staging buffer (queue
   * writes land before the next submit) and a recorded copy moves them into place, so uploads in the middle
   * of a step do not split it into several submits (about 30 µs each on an H200).
   */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    // Deno 2.9.6 panics on a zero-byte queue write.
    if (data.byteLength === 0) return;
    const bytes = data.buffer as ArrayBuffer;
    if (!this.#encoder) {
      this.device.queue.writeBuffer(buffer, offset, bytes, data.byteOffset, data.byteLength);
      return;
    }
    // Not from the tensor pool: a pooled buffer may have been freed while commands that read it are still
    // recorded, and a queue write would land before them.
    const size = sizeClass(data.byteLength);
    const staging = this.#freeUploads.get(size)?.pop() ??
      this.device.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(staging, 0, bytes, data.byteOffset, data.byteLength);
    this.copy(staging, buffer, data.byteLength, 0, offset);
    // Reusable only after the submit: a later write would otherwise fill it before this copy has run.
    this.#stagedUploads.push(staging);
  }
}

const runtimes = new WeakMap<Gpu, Runtime>();

/** The shared runtime of a GPU. */
export function runtimeFor(gpu: Gpu): Runtime {
  let rt = runtimes.get(gpu);
  if (!rt) {
    rt = new Runtime(gpu);
    runtimes.set(gpu, rt);
  }
  return rt;
}
