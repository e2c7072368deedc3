/**
 * Reading raw dataset archives: zip (zip64 included), tar, tar.gz and plain directory trees, all behind one
 * streaming iterator, plus an atomic extractor on top of it. The format is detected from the file's first
 * bytes, never from its name, because users rename downloads freely.
 *
 * Libraries: `yauzl` reads zips by random access through the central directory (so a multi-GB zip is never
 * held in memory, and zip64 works); `tar-stream` parses tars as a stream (`node:zlib` gunzips first).
 *
 * @module
 */

import { createReadStream } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
// @ts-types="@types/tar-stream"
import tar from "tar-stream";
// @ts-types="@types/yauzl"
import yauzl from "yauzl";
import { InputError } from "../bench/core/errors.ts";
import { progress } from "../bench/core/progress.ts";
import { exists } from "../bench/core/fs.ts";

/** One file inside a zip, tar, tar.gz/.tgz, or a directory tree. `path` is POSIX, relative, no leading "./". */
export interface ArchiveEntry {
  /** Path inside the archive: POSIX separators, relative, normalised (no "", "." or ".." segments). */
  path: string;
  /** Uncompressed size in bytes, as recorded by the archive. */
  size: number;
  /**
   * The entry's bytes. Call it before the iterator advances: tar entries are a stream, and an entry not
   * read by then is skipped over.
   */
  read(): Promise<Uint8Array>;
}

/** The container formats {@linkcode walkArchive} understands. */
export type ArchiveKind = "zip" | "tar" | "tar.gz" | "dir";

/**
 * Entries up to this size are written with one synchronous call: a dataset archive holds hundreds of
 * thousands of small images, and per-file async writes cost about 0.1 ms more each (measured here on
 * 10,000 files of 30 KB). Larger entries stream, so memory stays bounded.
 */
const SMALL_FILE = 16 << 20;

/** An entry that can also be streamed, so the extractor never holds a large entry in memory. */
interface StreamingEntry extends ArchiveEntry {
  chunks(): AsyncIterable<Uint8Array>;
  /** Directory trees copy files with the kernel instead of streaming them through JS. */
  copyTo?(target: string): Promise<void>;
}

/**
 * Detects the container format of `path` from its magic bytes: `PK\x03\x04` (zip), `\x1f\x8b` (gzip,
 * taken to wrap a tar), `ustar` at offset 257 or a valid header checksum (tar); a directory is "dir".
 * Throws an {@linkcode InputError} for a missing path or an unrecognised format.
 */
export async function archiveKind(path: string): Promise<ArchiveKind> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new InputError("not found", { file: path });
    throw err;
  }
  if (info.isDirectory) return "dir";
  const head = new Uint8Array(512);
  const file = await Deno.open(path);
  let n = 0;
  try {
    while (n < head.length) {
      const got = await file.read(head.subarray(n));
      if (got === null) break;
      n += got;
    }
  } finally {
    file.close();
  }
  const b = head.subarray(0, n);
  // Local file header, or the end-of-central-directory record of an empty zip, or a spanned-zip marker.
  if (n >= 4 && b[0] === 0x50 && b[1] === 0x4b && [0x0304, 0x0506, 0x0708].includes((b[2] << 8) | b[3])) {
    return "zip";
  }
  if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "tar.gz";
  if (n === 512 && (ascii(b.subarray(257, 262)) === "ustar" || tarChecksumOk(b))) return "tar";
  throw new InputError(
    n === 0 ? "is empty; expected a zip, tar or tar.gz archive" : "is not a zip, tar or tar.gz archive",
    { file: path },
  );
}

/**
 * Iterates the regular files of a zip, tar, tar.gz or directory (detected by magic bytes, not extension).
 * Streams: never loads a whole multi-GB archive into memory. Directories, symbolic links and other special
 * entries are skipped. Zip names without the UTF-8 flag are decoded as CP437 (the zip default, and how
 * AgeDB's accented names are stored); an Info-ZIP Unicode Path field takes precedence when present. An
 * entry whose path is absolute or climbs out with ".." throws an {@linkcode InputError}, as does reading
 * an encrypted zip entry.
 */
export function walkArchive(path: string): AsyncGenerator<ArchiveEntry> {
  return walk(path);
}

async function* walk(path: string): AsyncGenerator<StreamingEntry> {
  const kind = await archiveKind(path);
  if (kind === "dir") yield* walkDir(path);
  else if (kind === "zip") yield* walkZip(path);
  else yield* walkTar(path, kind === "tar.gz");
}

/**
 * Extracts (a filtered subset of) an archive or copies a directory into `dest`, atomically: into a
 * temporary sibling directory, renamed into place at the end. Rejects entries whose path escapes dest
 * ("..", absolute). Shows a progress bar (bench/core/progress.ts) unless quiet. `dest` must not exist.
 * On any failure the temporary directory is removed and nothing appears at `dest`.
 */
export async function extractArchive(
  path: string,
  dest: string,
  options: { filter?: (entryPath: string) => boolean; quiet?: boolean } = {},
): Promise<{ files: number; bytes: number }> {
  const target = resolve(dest);
  if (await exists(target)) {
    throw new InputError("already exists; remove it to extract again", { file: target });
  }
  const kind = await archiveKind(path);
  const parent = dirname(target);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(target)}.partial-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(tmp);
  // Bytes are counted over every entry seen, extracted or skipped, so the bar tracks the whole archive.
  const totalMb = kind === "zip" || kind === "tar"
    ? Math.max(1, Math.ceil((await Deno.stat(path)).size / 1e6))
    : null;
  const bar = progress(`extracting ${basename(path)}`, totalMb, { unit: "MB", quiet: options.quiet });
  let files = 0, bytes = 0, scanned = 0;
  const made = new Set<string>([tmp]);
  try {
    for await (const entry of walk(path)) {
      scanned += entry.size;
      bar.set(Math.floor(scanned / 1e6));
      if (options.filter && !options.filter(entry.path)) continue;
      const out = join(tmp, ...entry.path.split("/"));
      // walk() already rejects escaping paths; this re-check guards the join itself.
      if (!out.startsWith(tmp + sep)) {
        throw new InputError(`entry "${entry.path}" would be written outside the destination`, {
          file: path,
        });
      }
      const dir = dirname(out);
      if (!made.has(dir)) {
        await Deno.mkdir(dir, { recursive: true });
        made.add(dir);
      }
      if (entry.copyTo) await entry.copyTo(out);
      else if (entry.size <= SMALL_FILE) Deno.writeFileSync(out, await entry.read());
      else await writeChunks(out, entry.chunks());
      files++;
      bytes += entry.size;
    }
    bar.done();
    await Deno.rename(tmp, target);
    return { files, bytes };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** The message for an encrypted zip: dirbench cannot decrypt, so the user extracts it and passes the folder. */
function encryptedError(archive: string, entry: string): InputError {
  const name = basename(archive);
  return new InputError(
    `the zip is encrypted (password-protected; entry "${entry}") and dirbench cannot decrypt it. ` +
      `Extract it yourself, e.g. \`unzip -P <password> ${name} -d <dir>\`, and pass the extracted directory ` +
      `with --from <dir>`,
    { file: archive },
  );
}

/**
 * Normalises an entry name to a safe relative POSIX path, or returns null for a name that is only a
 * directory marker. Backslashes count as separators so that a Windows-made "..\\x" cannot slip through.
 */
export function safeEntryPath(name: string, archive: string): string | null {
  const bad = (why: string) =>
    new InputError(`unsafe entry "${name}": ${why}; refusing to extract this archive`, { file: archive });
  if (name.includes("\0")) throw bad("NUL in the name");
  const unified = name.replace(/\\/g, "/");
  if (unified.startsWith("/") || /^[A-Za-z]:/.test(unified)) throw bad("absolute path");
  const parts = unified.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw bad('".." would escape the destination');
  return parts.length === 0 ? null : parts.join("/");
}

async function* walkDir(root: string): AsyncGenerator<StreamingEntry> {
  // Sorted per directory, so iteration order (and so anything derived from it) is the same everywhere.
  const visit = async function* (dir: string, rel: string): AsyncGenerator<StreamingEntry> {
    const names: { name: string; isDir: boolean; isFile: boolean; isSymlink: boolean }[] = [];
    for await (const e of Deno.readDir(dir)) {
      names.push({ name: e.name, isDir: e.isDirectory, isFile: e.isFile, isSymlink: e.isSymlink });
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of names) {
      const full = join(dir, e.name);
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      let isDir = e.isDir, isFile = e.isFile, size = 0;
      if (e.isSymlink) {
        // Follow links to files (a user may assemble a data folder from links) but not to directories,
        // which could loop.
        const target = await Deno.stat(full).catch(() => null);
        if (!target?.isFile) continue;
        isFile = true;
        isDir = false;
      }
      if (isDir) {
        yield* visit(full, path);
        continue;
      }
      if (!isFile) continue;
      size = (await Deno.stat(full)).size;
      yield {
        path,
        size,
        read: () => Deno.readFile(full),
        chunks: () => fileChunks(full),
        copyTo: async (target) =>
          size <= SMALL_FILE ? Deno.copyFileSync(full, target) : await Deno.copyFile(full, target),
      };
    }
  };
  yield* visit(root, "");
}

async function* walkZip(path: string): AsyncGenerator<StreamingEntry> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      autoClose: false,
      // Names are decoded below, so that a bad name becomes an InputError instead of a bare Error.
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (err) {
    throw new InputError(`unreadable zip (${(err as Error).message})`, { file: path });
  }
  try {
    const entries = zip.eachEntry();
    while (true) {
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        throw new InputError(`corrupt zip (${(err as Error).message})`, { file: path });
      }
      if (next.done) break;
      const entry = next.value;
      // CP437 unless the UTF-8 flag (bit 11) is set; an Info-ZIP Unicode Path extra field wins.
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      if (name.endsWith("/")) continue;
      const unixMode = (entry.versionMadeBy >> 8) === 3 ? entry.externalFileAttributes >>> 16 : 0;
      const type = unixMode & 0o170000;
      if (type !== 0 && type !== 0o100000) continue; // symlinks, devices: not regular files
      const rel = safeEntryPath(name, path);
      if (rel === null) continue;
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        if (entry.isEncrypted()) throw encryptedError(path, rel);
        if (!entry.canDecodeFileData()) {
          throw new InputError(
            `entry "${rel}" uses zip compression method ${entry.compressionMethod}, which dirbench cannot ` +
              `read; extract the zip with unzip or 7z and pass the directory with --from`,
            { file: path },
          );
        }
        try {
          const stream = await zip.openReadStreamPromise(entry);
          for await (const chunk of stream) yield chunk as Uint8Array;
        } catch (err) {
          if (err instanceof InputError) throw err;
          throw new InputError(`corrupt zip entry "${rel}" (${(err as Error).message})`, { file: path });
        }
      };
      yield { path: rel, size: entry.uncompressedSize, read: () => collect(chunks()), chunks };
    }
  } finally {
    zip.close();
  }
}

async function* walkTar(path: string, gzipped: boolean): AsyncGenerator<StreamingEntry> {
  // Old (pre-POSIX) tars have no "ustar" magic; accept them, since the checksum was already checked.
  const extract = tar.extract({ allowUnknownFormat: true });
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  let failure: Error | null = null;
  const onDone = (err: Error | null) => {
    if (err) failure = err;
  };
  if (gzipped) pipeline(source, createGunzip(), extract, onDone);
  else pipeline(source, extract, onDone);
  const iterator = extract[Symbol.asyncIterator]();
  const corrupt = (err: unknown) =>
    new InputError(
      `corrupt ${gzipped ? "tar.gz" : "tar"} archive (${(failure ?? (err as Error)).message})`,
      { file: path },
    );
  try {
    while (true) {
      let next: IteratorResult<tar.Entry>;
      try {
        next = await iterator.next();
      } catch (err) {
        throw corrupt(err);
      }
      if (next.done) break;
      const stream = next.value;
      const header = stream.header;
      let consumed = false;
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        if (consumed) throw new Error(`tar entry "${header.name}" was already read`);
        consumed = true;
        try {
          for await (const chunk of stream) yield chunk as Uint8Array;
        } catch (err) {
          throw corrupt(err);
        }
      };
      if (header.type === "file" || header.type === "contiguous-file") {
        const rel = safeEntryPath(header.name, path);
        if (rel !== null) yield { path: rel, size: header.size ?? 0, read: () => collect(chunks()), chunks };
      }
      // The parser waits until the current entry's data is drained, so skip whatever was not read.
      if (!consumed) {
        consumed = true;
        try {
          for await (const _ of stream) { /* discard */ }
        } catch (err) {
          throw corrupt(err);
        }
      }
    }
    if (failure) throw corrupt(failure);
  } finally {
    await iterator.return?.();
    source.destroy();
  }
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const file = await Deno.open(path);
  try {
    for await (const chunk of file.readable) yield chunk;
  } finally {
    try {
      file.close();
    } catch {
      // `readable` closes the file itself when it reaches the end.
    }
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const c of chunks) {
    parts.push(c);
    length += c.byteLength;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function writeChunks(target: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const file = await Deno.open(target, { write: true, create: true, truncate: true });
  try {
    for await (const chunk of chunks) {
      let at = 0;
      while (at < chunk.byteLength) at += await file.write(chunk.subarray(at));
    }
  } finally {
    file.close();
  }
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** A tar header block's checksum: the byte sum with the checksum field read as spaces. */
function tarChecksumOk(block: Uint8Array): boolean {
  const field = ascii(block.subarray(148, 156)).replace(/[\0 ]+$/, "").trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  return sum === parseInt(field, 8);
}
