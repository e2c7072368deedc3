/**
 * Checkpoints: named f32 tensors (weights, optimiser moments) in one binary file plus a JSON index with
 * the step and any extra state, in a directory `ckpt-<step>/`; `latest.json` names the newest complete
 * one. A checkpoint is written completely before `latest.json` is replaced (atomically), so a crash at
 * any moment leaves the previous checkpoint usable. All tensors are read back with one GPU sync.
 *
 * @module
 */

import { join } from "node:path";
import { InputError } from "../core/errors.ts";
import { exists, readJsonFile, writeFileAtomic, writeJsonAtomic } from "../core/fs.ts";
import { readTensors, Tensor } from "../gpu/tensor.ts";

/** Format tag of a checkpoint index. */
export const CHECKPOINT_FORMAT = "dirbench.checkpoint/1";

interface Index {
  format: typeof CHECKPOINT_FORMAT;
  step: number;
  tensors: { name: string; shape: number[]; offset: number }[];
  state: unknown;
}

/** Writes `tensors` (by name) and `state` as the checkpoint of `step` under `dir`, then points `latest.json` at it. */
export async function saveCheckpoint(
  dir: string,
  step: number,
  tensors: ReadonlyMap<string, Tensor>,
  state: unknown,
): Promise<string> {
  const entries = [...tensors];
  for (const [name, t] of entries) {
    if (t.dtype !== "f32") throw new TypeError(`saveCheckpoint: ${name} is ${t.dtype}; checkpoints hold f32`);
  }
  const values = await readTensors(entries[0][1].rt, entries.map(([, t]) => t));
  const total = values.reduce((s, v) => s + v.length, 0);
  const blob = new Float32Array(total);
  const index: Index = { format: CHECKPOINT_FORMAT, step, tensors: [], state };
  let offset = 0;
  entries.forEach(([name, t], i) => {
    blob.set(values[i], offset);
    index.tensors.push({ name, shape: [...t.shape], offset });
    offset += t.size;
  });
  const name = `ckpt-${step}`;
  const target = join(dir, name);
  await Deno.mkdir(target, { recursive: true });
  await writeFileAtomic(join(target, "tensors.bin"), new Uint8Array(blob.buffer));
  await writeJsonAtomic(join(target, "index.json"), index);
  const previous = await latestCheckpoint(dir);
  await writeJsonAtomic(join(dir, "latest.json"), { checkpoint: name, step });
  if (previous && previous.name !== name) await Deno.remove(join(dir, previous.name), { recursive: true });
  return target;
}

/** The newest complete checkpoint under `dir`, or null. */
export async function latestCheckpoint(dir: string): Promise<{ name: string; step: number } | null> {
  const path = join(dir, "latest.json");
  if (!await exists(path)) return null;
  const latest = await readJsonFile(path, "checkpoint pointer") as { checkpoint?: unknown; step?: unknown };
  if (typeof latest.checkpoint !== "string" || typeof latest.step !== "number") {
    throw new InputError("is not a checkpoint pointer", { file: path });
  }
  return { name: latest.checkpoint, step: latest.step };
}

/**
 * Loads the newest checkpoint under `dir` into `tensors` (matched by name and shape) and returns its
 * step and state, or null when there is none.
 *
 * @throws {InputError} When a tensor is missing or has another shape (a different config).
 */
export async function loadCheckpoint(
  dir: string,
  tensors: ReadonlyMap<string, Tensor>,
): Promise<{ step: number; state: unknown } | null> {
  const latest = await latestCheckpoint(dir);
  if (!latest) return null;
  const indexPath = join(dir, latest.name, "index.json");
  const index = await readJsonFile(indexPath, "checkpoint index") as Index;
  if (index.format !== CHECKPOINT_FORMAT) {
    throw new InputError(`is not a ${CHECKPOINT_FORMAT} index`, { file: indexPath });
  }
  const bytes = await Deno.readFile(join(dir, latest.name, "tensors.bin"));
  const blob = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const stored = new Map(index.tensors.map((t) => [t.name, t]));
  for (const [name, t] of tensors) {
    const entry = stored.get(name);
    if (!entry || entry.shape.join() !== t.shape.join()) {
      throw new InputError(
        `has no tensor ${name} [${t.shape}]${
          entry ? ` (stored [${entry.shape}])` : ""
        }: it was written by another configuration`,
        { file: indexPath },
      );
    }
    t.rt.write(t.buffer, blob.subarray(entry.offset, entry.offset + t.size));
  }
  return { step: index.step, state: index.state };
}
