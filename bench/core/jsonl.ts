/**
 * JSON Lines reading with line-accurate error messages.
 *
 * @module
 */

import { InputError } from "./errors.ts";

/** One parsed JSONL record and the 1-based line it came from. */
export interface JsonlRecord {
  /** 1-based line number in the file. */
  line: number;
  /** The parsed JSON object. */
  value: Record<string, unknown>;
}

/**
 * Parses JSON Lines text. Blank lines (including a trailing newline) are skipped; every other line must be
 * a JSON object, or an {@linkcode InputError} naming `file` and the line is thrown.
 */
export function parseJsonl(text: string, file: string): JsonlRecord[] {
  const records: JsonlRecord[] = [];
  // Editors on Windows may prepend a byte-order mark; it is not part of the first record.
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  // Scan by index rather than split("\n") so a 200k-line file is not copied into a second array of strings.
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new InputError(`malformed JSON (${reason})`, { file, line });
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new InputError(`expected a JSON object, got ${describe(value)}`, { file, line });
    }
    records.push({ line, value: value as Record<string, unknown> });
  }
  return records;
}

/** A short description of a JSON value's type, for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "number") return `a number (${value})`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `a string (${JSON.stringify(value.slice(0, 40))})`;
  return `a ${typeof value}`;
}

/** Serialises objects as JSON Lines (one object per line, trailing newline). */
export function toJsonl(values: Iterable<unknown>): string {
  let out = "";
  for (const v of values) out += JSON.stringify(v) + "\n";
  return out;
}
