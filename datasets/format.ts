/**
 * The prepared dataset format, version 1 (`dirbench.dataset/1`): a directory with `manifest.json`,
 * `train.jsonl`, `test.jsonl` and, for real datasets, image files. This module holds its types, a
 * validating reader and an atomic writer. Scoring needs only the manifest and the two JSONL files.
 *
 * @module
 */

import { isAbsolute, join, normalize } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { readJsonFile, writeFileAtomic, writeJsonAtomic } from "../bench/core/fs.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import { describe, parseJsonl, toJsonl } from "../bench/core/jsonl.ts";

/** The format tag every version-1 manifest carries. */
export const DATASET_FORMAT = "dirbench.dataset/1";

/** The label axis: range, unit and the width of the bins that shot regions are counted on. */
export interface LabelSpec {
  /** Smallest valid label; bin 0 starts here. */
  min: number;
  /** Largest valid label. */
  max: number;
  /** Unit, e.g. "years" or "months". */
  unit: string;
  /** Bin width on the label axis (default 1). */
  binWidth: number;
}

/** Training-count thresholds of the shot regions: many if count > manyAbove, few if count < fewBelow. */
export interface ShotThresholds {
  /** A bin with more training samples than this is many-shot (default 100). */
  manyAbove: number;
  /** A bin with fewer training samples than this is few-shot (default 20). */
  fewBelow: number;
}

/** One split's file, its number of lines and the SHA-256 of its bytes. */
export interface SplitEntry {
  /** Path relative to the dataset directory. */
  file: string;
  /** Number of samples (non-blank lines). */
  count: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  sha256: string;
}

/** `manifest.json` of a prepared dataset. Unknown extra fields are kept. */
export interface DatasetManifest {
  /** Always {@linkcode DATASET_FORMAT}. */
  format: typeof DATASET_FORMAT;
  /** Dataset id, e.g. `agedb-dir`. */
  id: string;
  /** The label axis. */
  label: LabelSpec;
  /** Shot-region thresholds. */
  shots: ShotThresholds;
  /** The task prompt shown to the model. */
  prompt: string;
  /** The two splits. */
  splits: { train: SplitEntry; test: SplitEntry };
  [extra: string]: unknown;
}

/** One sample line. Real datasets add `image` and `messages`; the scorer needs only `id` and `label`. */
export interface Sample {
  /** Unique id within the dataset. */
  id: string;
  /** The regression target. */
  label: number;
  /** Image path relative to the dataset directory (real datasets). */
  image?: string;
  /** The dialogue form of the sample (real datasets). */
  messages?: unknown;
  [extra: string]: unknown;
}

/** A split after reading: its samples and the SHA-256 of the bytes they were read from. */
export interface SplitData {
  /** Samples in file order. */
  samples: Sample[];
  /** SHA-256 of the file. */
  sha256: string;
}

/** A whole prepared dataset as the scorer sees it. */
export interface PreparedDataset {
  /** The directory it was read from. */
  dir: string;
  /** The validated manifest, with defaults filled in. */
  manifest: DatasetManifest;
  /** The training split (its label histogram defines the shot regions). */
  train: SplitData;
  /** The test split (what predictions are scored against). */
  test: SplitData;
}

/** Default shot thresholds, as in the DIR literature. */
export const DEFAULT_SHOTS: ShotThresholds = { manyAbove: 100, fewBelow: 20 };

/**
 * Validates a parsed `manifest.json`, filling in defaults (`label.binWidth` 1, `shots` 100/20).
 * Throws an {@linkcode InputError} naming `file` and the offending field.
 */
export function parseManifest(json: unknown, file: string): DatasetManifest {
  const fail = (msg: string): never => {
    throw new InputError(msg, { file });
  };
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    fail(`expected a JSON object, got ${describe(json)}`);
  }
  const m = json as Record<string, unknown>;
  if (m.format !== DATASET_FORMAT) {
    fail(
      `unsupported dataset format ${JSON.stringify(m.format)}; this dirbench reads "${DATASET_FORMAT}"` +
        " (re-run `deno task prepare` with this version)",
    );
  }
  if (typeof m.id !== "string" || m.id === "") fail(`"id" must be a non-empty string`);
  if (typeof m.prompt !== "string") fail(`"prompt" must be a string`);

  const label = objectField(m, "label", fail);
  const min = finiteField(label, "label.min", "min", fail);
  const max = finiteField(label, "label.max", "max", fail);
  if (!(max > min)) fail(`"label.max" (${max}) must be greater than "label.min" (${min})`);
  if (typeof label.unit !== "string") fail(`"label.unit" must be a string`);
  const binWidth = label.binWidth === undefined ? 1 : finiteField(label, "label.binWidth", "binWidth", fail);
  if (!(binWidth > 0)) fail(`"label.binWidth" must be positive, got ${binWidth}`);

  const shotsIn = m.shots === undefined ? {} : objectField(m, "shots", fail);
  const manyAbove = shotsIn.manyAbove === undefined
    ? DEFAULT_SHOTS.manyAbove
    : finiteField(shotsIn, "shots.manyAbove", "manyAbove", fail);
  const fewBelow = shotsIn.fewBelow === undefined
    ? DEFAULT_SHOTS.fewBelow
    : finiteField(shotsIn, "shots.fewBelow", "fewBelow", fail);
  if (fewBelow > manyAbove + 1) {
    fail(`"shots.fewBelow" (${fewBelow}) must not exceed "shots.manyAbove" + 1 (${manyAbove + 1})`);
  }

  const splitsIn = objectField(m, "splits", fail);
  const splits = {
    train: splitEntry(splitsIn, "train", fail),
    test: splitEntry(splitsIn, "test", fail),
  };
  return {
    ...m,
    format: DATASET_FORMAT,
    id: m.id as string,
    prompt: m.prompt as string,
    label: { ...label, min, max, unit: label.unit as string, binWidth },
    shots: { ...shotsIn, manyAbove, fewBelow },
    splits,
  };
}

function objectField(
  obj: Record<string, unknown>,
  key: string,
  fail: (msg: string) => never,
): Record<string, unknown> {
  const v = obj[key];
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return fail(`"${key}" must be an object, got ${v === undefined ? "nothing" : describe(v)}`);
  }
  return v as Record<string, unknown>;
}

function finiteField(
  obj: Record<string, unknown>,
  path: string,
  key: string,
  fail: (msg: string) => never,
): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    return fail(`"${path}" must be a finite number, got ${v === undefined ? "nothing" : describe(v)}`);
  }
  return v;
}

function splitEntry(
  splits: Record<string, unknown>,
  name: "train" | "test",
  fail: (msg: string) => never,
): SplitEntry {
  const s = objectField(splits, name, fail);
  if (typeof s.file !== "string" || s.file === "") fail(`"splits.${name}.file" must be a non-empty string`);
  const file = s.file as string;
  if (isAbsolute(file) || normalize(file).split(/[\\/]/).includes("..")) {
    fail(`"splits.${name}.file" must be a path inside the dataset directory, got ${JSON.stringify(file)}`);
  }
  const count = finiteField(s, `splits.${name}.count`, "count", fail);
  if (!Number.isInteger(count) || count < 0) fail(`"splits.${name}.count" must be a non-negative integer`);
  if (typeof s.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.sha256)) {
    fail(`"splits.${name}.sha256" must be 64 lower-case hex digits`);
  }
  return { file: s.file as string, count, sha256: s.sha256 as string };
}

/** Reads and validates `<dir>/manifest.json`. */
export async function readManifest(dir: string): Promise<DatasetManifest> {
  const file = join(dir, "manifest.json");
  return parseManifest(await readJsonFile(file, "dataset manifest"), file);
}

/**
 * Reads one split, checking its SHA-256 and count against the manifest and every line's `id` (unique,
 * non-empty string) and `label` (finite, within the label range).
 */
export async function readSplit(
  dir: string,
  manifest: DatasetManifest,
  split: "train" | "test",
): Promise<SplitData> {
  const entry = manifest.splits[split];
  const file = join(dir, entry.file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(`${split} split not found (named by manifest.json splits.${split}.file)`, {
        file,
      });
    }
    throw err;
  }
  const sha256 = await sha256Hex(bytes);
  if (sha256 !== entry.sha256) {
    throw new InputError(
      `sha256 ${sha256} does not match manifest.json splits.${split}.sha256 ${entry.sha256}` +
        " (the file changed after it was prepared)",
      { file },
    );
  }
  const records = parseJsonl(new TextDecoder().decode(bytes), file);
  const seen = new Set<string>();
  const samples: Sample[] = [];
  const { min, max } = manifest.label;
  for (const { line, value } of records) {
    const { id, label } = value;
    if (typeof id !== "string" || id === "") {
      throw new InputError(`"id" must be a non-empty string, got ${describe(id)}`, { file, line });
    }
    if (seen.has(id)) throw new InputError(`duplicate id ${JSON.stringify(id)}`, { file, line });
    seen.add(id);
    if (typeof label !== "number" || !Number.isFinite(label)) {
      throw new InputError(`"label" must be a finite number, got ${describe(label)}`, { file, line });
    }
    if (label < min || label > max) {
      throw new InputError(`label ${label} is outside the manifest's label range [${min}, ${max}]`, {
        file,
        line,
      });
    }
    samples.push(value as Sample);
  }
  if (samples.length !== entry.count) {
    throw new InputError(
      `has ${samples.length} samples but manifest.json splits.${split}.count says ${entry.count}`,
      { file },
    );
  }
  return { samples, sha256 };
}

/** Reads a prepared dataset directory: manifest, train and test splits, all validated. */
export async function readPreparedDataset(dir: string): Promise<PreparedDataset> {
  const manifest = await readManifest(dir);
  // One after the other, so a dataset with two bad splits always reports the same (the training) one.
  const train = await readSplit(dir, manifest, "train");
  const test = await readSplit(dir, manifest, "test");
  return { dir, manifest, train, test };
}

/** What a dataset builder supplies; the writer fills in `format` and `splits`. */
export type ManifestInput =
  & Omit<DatasetManifest, "format" | "splits" | "shots" | "label">
  & { label: Omit<LabelSpec, "binWidth"> & { binWidth?: number }; shots?: ShotThresholds };

/**
 * Writes a prepared dataset's `train.jsonl`, `test.jsonl` and, last, `manifest.json` (so a directory with a
 * manifest is always complete), each atomically. Returns the manifest written.
 */
export async function writePreparedDataset(
  dir: string,
  input: ManifestInput,
  train: readonly Sample[],
  test: readonly Sample[],
): Promise<DatasetManifest> {
  await Deno.mkdir(dir, { recursive: true });
  const splits = {} as DatasetManifest["splits"];
  for (const [name, samples] of [["train", train], ["test", test]] as const) {
    const text = toJsonl(samples);
    const file = `${name}.jsonl`;
    await writeFileAtomic(join(dir, file), text);
    splits[name] = { file, count: samples.length, sha256: await sha256Hex(text) };
  }
  const manifest = parseManifest(
    {
      format: DATASET_FORMAT,
      ...input,
      label: { binWidth: 1, ...input.label },
      shots: input.shots ?? DEFAULT_SHOTS,
      splits,
    },
    join(dir, "manifest.json"),
  );
  await writeJsonAtomic(join(dir, "manifest.json"), manifest);
  return manifest;
}
