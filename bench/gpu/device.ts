/**
 * The GPU device: Deno's built-in WebGPU (wgpu over Vulkan, GL or Metal), or Dawn through `npm:webgpu`
 * where that loads. The device is created with the adapter's real limits (the defaults cap buffers at
 * 256 MiB and workgroup memory at 16 KiB) and every useful optional feature it offers.
 *
 * @module
 */

import { InputError } from "../core/errors.ts";
import type { AdapterInfo } from "../core/provenance.ts";

/** Which WebGPU implementation to use. */
export type GpuBackend = "deno" | "dawn";

/** An opened GPU: the device, what the adapter is, and what it can do. */
export interface Gpu {
  /** The WebGPU device. */
  device: GPUDevice;
  /** Description, software-fallback flag and backend, for provenance. */
  info: AdapterInfo & { features: string[] };
  /** The limits the device was created with (the adapter's own). */
  limits: GPUSupportedLimits;
  /** Whether `shader-f16` is enabled (f16 storage with f32 accumulation). */
  f16: boolean;
  /** Whether `timestamp-query` is enabled. */
  timestamps: boolean;
  /** Uncaptured WebGPU errors (shader compilation, validation) since the last check; readbacks throw on them. */
  errors: string[];
}

/**
 * No WebGPU adapter could be found. The message says what to install. It is an InputError so that task
 * entry points print it as one line rather than a stack trace: the fix is in the environment, not the code.
 */
export class NoGpuError extends InputError {
  constructor(message: string) {
    super(message);
    this.name = "NoGpuError";
  }
}

const WANTED_FEATURES: GPUFeatureName[] = ["shader-f16", "timestamp-query"];

const LIMIT_NAMES = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
] as const;

async function requestAdapter(backend: GpuBackend): Promise<GPUAdapter | null> {
  if (backend === "deno") {
    if (!("gpu" in navigator) || !navigator.gpu) return null;
    return await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  }
  // Dawn is optional: loaded only when asked for, and it refuses Mesa's software Vulkan.
  const mod = await import("npm:webgpu@0.4.0" as string).catch((err) => {
    throw new NoGpuError(`--gpu dawn: npm:webgpu could not be loaded (${(err as Error).message})`);
  });
  const gpu = mod.create([]) as GPU;
  return await gpu.requestAdapter({ powerPreference: "high-performance" });
}

/** Opens a device on the best adapter of `backend`, asking for its real limits and useful features. */
export async function openGpu(backend: GpuBackend = "deno"): Promise<Gpu> {
  const adapter = await requestAdapter(backend);
  if (!adapter && backend === "dawn") {
    throw new NoGpuError(
      "--gpu dawn: Dawn found no adapter (it refuses Mesa's software adapters); use the default --gpu deno there",
    );
  }
  if (!adapter) {
    throw new NoGpuError(
      "no WebGPU adapter found. On Debian/Ubuntu without a GPU install Mesa's software Vulkan driver " +
        "(`apt-get install mesa-vulkan-drivers`); with an NVIDIA GPU make sure the Vulkan loader (libvulkan1) " +
        "and the driver's Vulkan ICD are installed.",
    );
  }
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  const errors: string[] = [];
  device.addEventListener?.("uncapturederror", (e) => {
    errors.push((e as GPUUncapturedErrorEvent).error.message);
  });
  const info = adapter.info;
  const description = [info.description, info.vendor && `vendor ${info.vendor}`, info.architecture]
    .filter(Boolean).join(", ") || "unknown adapter";
  return {
    device,
    info: {
      description,
      fallback: info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/i.test(description),
      backend: backend === "deno" ? "deno-webgpu" : "dawn",
      features: [...adapter.features].sort(),
    },
    limits: device.limits,
    f16: features.includes("shader-f16"),
    timestamps: features.includes("timestamp-query"),
    errors,
  };
}

let shared: Promise<Gpu> | undefined;

/** The process-wide default GPU (Deno's WebGPU), opened on first use. */
export function defaultGpu(): Promise<Gpu> {
  shared ??= openGpu("deno");
  return shared;
}
