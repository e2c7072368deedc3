/**
 * Test helpers for the task entry points (`tasks/*_test.ts`): a small prepared toy dataset, a runner that
 * starts a task script in a subprocess with the permissions `deno task` grants, and assertions on how a
 * task refuses bad input.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type DatasetManifest, type Sample, writePreparedDataset } from "../datasets/format.ts";
export { exists } from "../bench/core/fs.ts";

/** The repository root: task scripts run with it as their working directory, as under `deno task`. */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** A training histogram: `[label, count]` pairs, each label repeated `count` times in the training split. */
export type Histogram = readonly (readonly [label: number, count: number])[];

/** Training histogram per integer label: 30 is many-shot (>100), 35..50 medium (20..100), 60+ few (<20). */
export const TRAIN_HISTOGRAM: Histogram = [
  [30, 150],
  [35, 60],
  [40, 40],
  [50, 30],
  [60, 10],
  [70, 5],
  [80, 3],
];

/** Test labels of t0..t11: 3 many, 5 medium, 4 few (90 has no training samples at all). */
export const TEST_LABELS: readonly number[] = [30, 30, 30, 35, 35, 40, 40, 50, 60, 70, 80, 90];

/**
 * Training samples `a0`, `a1`, ... with each label of `histogram` repeated its count times, in order.
 *
 * @param histogram The `[label, count]` pairs; {@linkcode TRAIN_HISTOGRAM} by default.
 */
export function trainSamples(histogram: Histogram = TRAIN_HISTOGRAM): Sample[] {
  const out: Sample[] = [];
  for (const [label, count] of histogram) {
    for (let k = 0; k < count; k++) out.push({ id: `a${out.length}`, label });
  }
  return out;
}

/**
 * Test samples `t0`, `t1`, ... with the given labels, in order.
 *
 * @param labels The test labels; {@linkcode TEST_LABELS} by default.
 */
export function testSamples(labels: readonly number[] = TEST_LABELS): Sample[] {
  return labels.map((label, i) => ({ id: `t${i}`, label }));
}

/**
 * Writes the toy prepared dataset (id `toy-dir`, labels 0..100 years) into `dir`.
 *
 * @param dir The dataset directory; created if missing.
 * @param labels The test labels; {@linkcode TEST_LABELS} by default.
 * @param histogram The training histogram; {@linkcode TRAIN_HISTOGRAM} by default.
 * @returns The manifest written.
 */
export function writeToyDataset(
  dir: string,
  labels: readonly number[] = TEST_LABELS,
  histogram: Histogram = TRAIN_HISTOGRAM,
): Promise<DatasetManifest> {
  return writePreparedDataset(
    dir,
    { id: "toy-dir", prompt: "How old?", label: { min: 0, max: 100, unit: "years" } },
    trainSamples(histogram),
    testSamples(labels),
  );
}

/** The outcome of one task run: its exit code and its output with ANSI colour codes removed. */
export interface Run {
  /** The exit code. */
  code: number;
  /** Standard output, without ANSI colour codes. */
  stdout: string;
  /** Standard error, without ANSI colour codes. */
  stderr: string;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Removes ANSI colour codes (SGR escape sequences) from `text`. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/**
 * Runs a task script in a subprocess with the permissions `deno task` grants, from the repository root,
 * with `NO_COLOR=1`.
 *
 * @param script Absolute path of the task script.
 * @param args Its command-line arguments.
 * @param permissions The `--allow-*` flags (default: those of `eval` and `compare`).
 */
export async function runScript(
  script: string,
  args: readonly string[],
  permissions: readonly string[] = ["--allow-read", "--allow-write", "--allow-run=git", "--allow-env"],
): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, script, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: stripAnsi(dec.decode(out.stdout)),
    stderr: stripAnsi(dec.decode(out.stderr)),
  };
}

/** Files in `dir` (names only, sorted). */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/**
 * Runs `fn` with a fresh temporary directory and removes the directory (recursively) afterwards, whether
 * `fn` succeeds or throws.
 *
 * @param prefix Prefix of the directory's name.
 * @param fn What to do with the directory.
 * @returns What `fn` returns.
 */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Asserts a clean refusal: non-zero exit, every `parts` on stderr, no stack trace.
 *
 * @param run The run to check.
 * @param parts Strings that must all appear on stderr.
 * @param code The exact exit code expected, if any.
 */
export function assertRefused(run: Run, parts: readonly string[], code?: number): void {
  const show = `exit ${run.code}\nstderr:\n${run.stderr}\nstdout:\n${run.stdout}`;
  assert.notEqual(run.code, 0, `expected a non-zero exit\n${show}`);
  if (code !== undefined) assert.equal(run.code, code, show);
  for (const part of parts) {
    assert.ok(run.stderr.includes(part), `expected stderr to contain ${JSON.stringify(part)}\n${show}`);
  }
  assert.doesNotMatch(run.stderr, /^\s+at /m, `stack trace on stderr\n${show}`);
  assert.doesNotMatch(run.stderr, /Uncaught/, `uncaught error on stderr\n${show}`);
}
