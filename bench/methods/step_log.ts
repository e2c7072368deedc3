/**
 * Step logs whose numbers may still be on the GPU. A training step records its loss (and any other
 * logged quantity computed on the device) as a {@linkcode DeviceValue} instead of reading it back, and the
 * run loop reads the values of many steps with one GPU sync ({@linkcode resolveLogs}). Why: every readback
 * in Deno waits about 10 ms, more than a whole training step of the paper preset should take on an H100,
 * so a per-step loss readback alone would cap SFT at under 100 steps/s.
 *
 * @module
 */

import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";

/** A copy of a tensor's contents, outside the buffer pool, taken when it was logged. */
interface Snapshot {
  rt: Runtime;
  buffer: GPUBuffer;
  bytes: number;
}

/** A logged number still on the GPU: copies of some tensors, and how their contents make the number. */
export interface DeviceValue {
  snapshots: readonly Snapshot[];
  value(contents: readonly Float32Array[]): number;
}

/** One log record: numbers by name (loss, reward_mean, kl, lr, samples_per_s, …), some still on the GPU. */
export type StepLog = Record<string, number | DeviceValue>;

/** A log record once read back. */
export type ResolvedLog = Record<string, number>;

/**
 * A logged value computed from the contents of f32 `tensors` as of now, once read back. The contents are
 * copied (by a recorded command) into buffers outside the pool, so the tensors themselves go back to the
 * pool with the rest of the step: the pool, and with it every cached bind group, stays as it was.
 */
export function deviceValue(
  tensors: readonly Tensor[],
  value: (contents: readonly Float32Array[]) => number,
): DeviceValue {
  const snapshots = tensors.map((t) => {
    if (t.dtype !== "f32") throw new TypeError(`deviceValue: ${t.name ?? "a tensor"} is ${t.dtype}, not f32`);
    const buffer = t.rt.device.createBuffer({
      size: Math.max(4, t.bytes),
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    t.rt.copy(t.buffer, buffer, t.bytes);
    return { rt: t.rt, buffer, bytes: t.bytes };
  });
  return { snapshots, value };
}

/** The first element of `t` (a loss), logged without a readback now. */
export function deviceScalar(t: Tensor): DeviceValue {
  return deviceValue([t], ([values]) => values[0]);
}

/**
 * Reads every device value of `logs` with one GPU sync (none when there are none), frees their copies,
 * and returns the records with plain numbers, in order.
 */
export async function resolveLogs(logs: readonly StepLog[]): Promise<ResolvedLog[]> {
  const snapshots = logs.flatMap((log) =>
    Object.values(log).flatMap((v) => typeof v === "number" ? [] : v.snapshots)
  );
  const raw = snapshots.length > 0 ? await snapshots[0].rt.readMany(snapshots) : [];
  for (const s of snapshots) s.buffer.destroy();
  const contents = new Map(snapshots.map((s, i) => [s, new Float32Array(raw[i])]));
  return logs.map((log) =>
    Object.fromEntries(
      Object.entries(log).map((
        [k, v],
      ) => [k, typeof v === "number" ? v : v.value(v.snapshots.map((s) => contents.get(s)!))]),
    )
  );
}
