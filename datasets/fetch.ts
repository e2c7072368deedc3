/**
 * Downloads for `deno task fetch`: resumable (HTTP Range on a `.part` file), verified against every hash
 * the caller pins (SHA-256, git blob SHA-1, MD5) and an expected size, and atomic (renamed into place
 * only once verified). Multi-GB files are never held in memory: the body streams to disk and hashes are
 * computed by re-reading the file in chunks.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { basename, dirname } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { progress } from "../bench/core/progress.ts";

/** A file to download, with what it must hash to. */
export interface RemoteFile {
  /** Short name for messages and progress, e.g. `agedb.csv`. */
  name: string;
  /** Where to get it. */
  url: string;
  /** Expected lower-case hex SHA-256. */
  sha256?: string;
  /** Expected git blob SHA-1 (`git hash-object`), for files pinned to a git commit. */
  gitBlobSha1?: string;
  /** Expected lower-case hex MD5 (what some dataset hosts publish). */
  md5?: string;
  /** Expected size in bytes. */
  size?: number;
}

/** Options of {@linkcode downloadFile}. */
export interface DownloadOptions {
  /** Suppress the progress bar. */
  quiet?: boolean;
  /** The fetch to use (tests). */
  fetchImpl?: typeof fetch;
}

/** What {@linkcode downloadFile} did. */
export interface DownloadResult {
  /** Size of the file now at dest. */
  bytes: number;
  /** Byte offset at which the request that completed the file started (0 when it came in one piece). */
  resumedFrom: number;
  /** Whether dest was already there with the right hashes, so nothing was downloaded. */
  skipped: boolean;
}

/** Times a download is resumed within one call after the connection drops mid-body. */
const RESUME_ATTEMPTS = 5;
const CHUNK = 4 << 20;

/**
 * Downloads to `dest` with a progress bar (bytes, rate, ETA), resuming a previous partial download
 * (`dest + ".part"`) with an HTTP Range request (falls back to a full download if the server ignores
 * Range), verifies every hash given, then renames into place. A hash mismatch deletes the .part, throws
 * an InputError naming the file, expected and actual hash, and leaves nothing at dest. Already-present
 * dest with matching hash: skipped. A connection dropped mid-body is resumed automatically a few times;
 * after that the error says to run the command again, which resumes from the `.part` file.
 */
export async function downloadFile(
  file: RemoteFile,
  dest: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const part = `${dest}.part`;
  await Deno.mkdir(dirname(dest), { recursive: true });

  const present = await sizeOf(dest);
  if (present !== null) {
    const problem = await verify(file, dest, present);
    if (problem === null) return { bytes: present, resumedFrom: 0, skipped: true };
    // A corrupt or outdated copy: remove it now, so a failed download cannot leave it looking valid.
    await Deno.remove(dest);
  }

  let offset = (await sizeOf(part)) ?? 0;
  if (file.size !== undefined && offset > file.size) offset = await restart(part);
  const hadPart = offset > 0;
  let retriedFull = false;
  for (let attempt = 0;; attempt++) {
    const outcome = await transfer(file, part, offset, fetchImpl, options.quiet);
    if (outcome.kind === "complete") {
      const resumedFrom = outcome.start;
      const size = (await sizeOf(part)) ?? 0;
      const problem = await verify(file, part, size);
      if (problem === null) {
        await Deno.rename(part, dest);
        return { bytes: size, resumedFrom, skipped: false };
      }
      await Deno.remove(part).catch(() => {});
      // A stale .part from another version of the file makes the resumed result wrong, not the server:
      // try once more from scratch before blaming the download.
      if (hadPart && !retriedFull) {
        retriedFull = true;
        offset = 0;
        continue;
      }
      throw new InputError(
        `${file.name}: ${problem} (downloaded from ${file.url}); the download was deleted`,
        {
          file: dest,
        },
      );
    }
    const now = (await sizeOf(part)) ?? 0;
    if (outcome.kind === "interrupted" && now > offset && attempt < RESUME_ATTEMPTS) {
      offset = now;
      continue;
    }
    throw new InputError(
      `${file.name}: download from ${file.url} failed (${outcome.reason}); ${
        now > 0 ? `${now} bytes are kept in ${basename(part)}; ` : ""
      }run the command again to ${now > 0 ? "resume" : "retry"}`,
      { file: dest },
    );
  }
}

type Transfer = { kind: "complete"; start: number } | { kind: "interrupted" | "failed"; reason: string };

/** One HTTP request, appending to `part` from `offset` (or rewriting it when the server sends it all). */
async function transfer(
  file: RemoteFile,
  part: string,
  offset: number,
  fetchImpl: typeof fetch,
  quiet?: boolean,
): Promise<Transfer> {
  let res: Response;
  try {
    res = await fetchImpl(file.url, offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {});
  } catch (err) {
    return { kind: "failed", reason: errorText(err) };
  }
  if (offset > 0 && res.status === 416) {
    // "Range not satisfiable": the .part already holds the whole file (verification decides).
    await res.body?.cancel();
    return { kind: "complete", start: offset };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { kind: "failed", reason: `HTTP ${res.status} ${res.statusText}`.trim() };
  }
  let start = 0;
  if (offset > 0 && res.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    start = range ? Number(range[1]) : -1;
    if (start !== offset) {
      await res.body?.cancel();
      return {
        kind: "failed",
        reason: `server answered the range request with ${res.headers.get("content-range")}`,
      };
    }
  }
  // Anything but a 206 is the whole file, from byte 0: the server ignored Range.
  const length = res.headers.get("content-length");
  const expected = length === null ? null : start + Number(length);
  const total = file.size ?? expected;
  const bar = progressFor(file.name, total, start, quiet);
  const out = await Deno.open(part, { write: true, create: true, truncate: start === 0, append: start > 0 });
  let written = start;
  try {
    if (!res.body) return { kind: "interrupted", reason: "empty response body" };
    const reader = res.body.getReader();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        let at = 0;
        while (at < value.byteLength) at += await out.write(value.subarray(at));
        written += value.byteLength;
        bar.set(written);
      }
    } catch (err) {
      return { kind: "interrupted", reason: errorText(err) };
    }
    bar.finish(written);
  } finally {
    out.close();
    bar.done();
  }
  if (expected !== null && written < expected) {
    return { kind: "interrupted", reason: `connection closed after ${written} of ${expected} bytes` };
  }
  return { kind: "complete", start };
}

/** A progress bar in MB (KB for small files) whose rate and ETA count only this request's bytes. */
function progressFor(name: string, total: number | null, start: number, quiet?: boolean) {
  const unitBytes = total !== null && total < 10e6 ? 1e3 : 1e6;
  const unit = unitBytes === 1e3 ? "KB" : "MB";
  const label = start > 0 ? `${name} (resumed at ${Math.floor(start / unitBytes)} ${unit})` : name;
  const bar = progress(label, total === null ? null : Math.max(1, Math.ceil((total - start) / unitBytes)), {
    unit,
    quiet,
  });
  return {
    set: (bytes: number) => bar.set(Math.floor((bytes - start) / unitBytes)),
    done: () => bar.done(),
    finish: (bytes: number) => bar.set(Math.ceil((bytes - start) / unitBytes)),
  };
}

/** Checks size and every pinned hash of the file at `path`; returns what is wrong, or null. */
async function verify(file: RemoteFile, path: string, size: number): Promise<string | null> {
  if (file.size !== undefined && size !== file.size) {
    return `size mismatch: expected ${file.size} bytes, got ${size}`;
  }
  const wanted = {
    sha256: file.sha256?.toLowerCase(),
    gitBlobSha1: file.gitBlobSha1?.toLowerCase(),
    md5: file.md5?.toLowerCase(),
  };
  if (!wanted.sha256 && !wanted.gitBlobSha1 && !wanted.md5) return null;
  const actual = await hashFile(path, {
    sha256: !!wanted.sha256,
    gitBlobSha1: !!wanted.gitBlobSha1,
    md5: !!wanted.md5,
  });
  for (const algo of ["sha256", "gitBlobSha1", "md5"] as const) {
    const want = wanted[algo];
    if (want && actual[algo] !== want) {
      const label = algo === "gitBlobSha1" ? "git blob SHA-1" : algo === "sha256" ? "SHA-256" : "MD5";
      return `${label} mismatch: expected ${want}, got ${actual[algo]}`;
    }
  }
  return null;
}

/** Hex digests of a file, computed in one streaming pass (a 7 GB file is never held in memory). */
export async function hashFile(
  path: string,
  which: { sha256?: boolean; gitBlobSha1?: boolean; md5?: boolean } = { sha256: true },
): Promise<{ sha256?: string; gitBlobSha1?: string; md5?: string }> {
  const size = (await Deno.stat(path)).size;
  const hashes: [keyof typeof which, Hash][] = [];
  if (which.sha256) hashes.push(["sha256", createHash("sha256")]);
  if (which.md5) hashes.push(["md5", createHash("md5")]);
  if (which.gitBlobSha1) {
    const h = createHash("sha1");
    h.update(`blob ${size}\0`);
    hashes.push(["gitBlobSha1", h]);
  }
  const file = await Deno.open(path);
  const buf = new Uint8Array(CHUNK);
  try {
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      for (const [, h] of hashes) h.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return Object.fromEntries(hashes.map(([k, h]) => [k, h.digest("hex")]));
}

/** The git blob SHA-1 of some bytes: sha1("blob <len>\0" + data), like `git hash-object`. */
export function gitBlobSha1(data: Uint8Array): Promise<string> {
  const h = createHash("sha1");
  h.update(`blob ${data.byteLength}\0`);
  h.update(data);
  return Promise.resolve(h.digest("hex"));
}

/** MD5 of some bytes, lower-case hex (not in WebCrypto, so node:crypto). */
export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** An error's message with its cause, which is where fetch keeps the useful part ("dns error: …"). */
function errorText(err: unknown): string {
  const e = err as Error;
  const cause = (e.cause as Error | undefined)?.message;
  return cause ? `${e.message}: ${cause}` : e.message;
}

async function restart(part: string): Promise<number> {
  await Deno.remove(part).catch(() => {});
  return 0;
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    const info = await Deno.stat(path);
    return info.isFile ? info.size : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
