/**
 * What every task entry point shares: flag parsing errors and input errors become one clear line on
 * stderr and exit code 2 (usage) or 1 (bad input), never a stack trace.
 *
 * @module
 */

import { InputError } from "../bench/core/errors.ts";

/** A command-line usage problem (unknown flag, missing argument). */
export class UsageError extends Error {
  /** @param message What is wrong with the command line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Runs a task's main function, mapping errors to messages and exit codes. */
export async function runTask(name: string, usage: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    // node:util parseArgs throws TypeErrors tagged with an ERR_PARSE_ARGS_* code.
    const code = (err as { code?: unknown }).code;
    if (err instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))) {
      console.error(`${name}: ${(err as Error).message}\n\n${usage}`);
      Deno.exit(2);
    }
    if (err instanceof InputError) {
      console.error(`${name}: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}

/** Parses a non-negative integer flag value, or throws a {@linkcode UsageError} naming the flag. */
export function intFlag(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${flag} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

/** Parses a number flag in an open interval, or throws a {@linkcode UsageError} naming the flag. */
export function numberFlag(
  value: string | undefined,
  flag: string,
  fallback: number,
  [lo, hi]: [number, number],
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= lo || n >= hi) {
    throw new UsageError(`--${flag} must be a number in (${lo}, ${hi}), got "${value}"`);
  }
  return n;
}
