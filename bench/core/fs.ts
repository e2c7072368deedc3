/**
 * Atomic file writes: a reader never sees a half-written file, and a failed write leaves the old file.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { InputError } from "./errors.ts";

/**
 * Writes `data` to `path` atomically: writes a temporary file in the same directory, then renames it over
 * `path`. The parent directory is created if missing. On failure the temporary file is removed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await assertWritableFile(path);
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  const base = path.slice(dir.length).replace(/^[\\/]+/, "");
  const tmp = join(dir, `.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Checks that `path` can be written as a file: it is not an existing directory. Call it for every output
 * before writing the first, so a run that cannot finish writes nothing.
 */
export async function assertWritableFile(path: string): Promise<void> {
  try {
    if ((await Deno.stat(path)).isDirectory) {
      throw new InputError("is a directory; give a file path to write", { file: path });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Writes `value` as pretty-printed JSON (two-space indent, trailing newline), atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Reads a text file, turning "not found" into an error that names the file and what it was for. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(`${what} not found`, { file: path });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new InputError(`${what} is a directory, expected a file`, { file: path });
    }
    throw err;
  }
}

/** Reads and parses a JSON file; a missing file or malformed JSON becomes an InputError naming the file. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readTextFile(path, what);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`malformed JSON (${(err as Error).message})`, { file: path });
  }
}

/** Whether anything (file, directory, link) exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  return (await statOrNull(path, true)) !== null;
}

/** Whether `path` is an existing directory (following links). */
export async function isDir(path: string): Promise<boolean> {
  return (await statOrNull(path, false))?.isDirectory ?? false;
}

/** Whether `path` is an existing regular file (following links). */
export async function isFile(path: string): Promise<boolean> {
  return (await statOrNull(path, false))?.isFile ?? false;
}

async function statOrNull(path: string, lstat: boolean): Promise<Deno.FileInfo | null> {
  try {
    return lstat ? await Deno.lstat(path) : await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
