/**
 * Test fixtures for the archive readers and the dataset adapters: zips (yazl), tars and tar.gz
 * (tar-stream), tiny real JPEGs (sharp), and byte-level patches that make the zips real tools produce
 * but yazl refuses to write: CP437 names without the UTF-8 flag, "../" names, encrypted entries. Also
 * the location of the real AgeDB-DIR split file in `shared/` beside the repository (read in place,
 * never copied into the repository).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import sharp from "sharp";
// @ts-types="@types/tar-stream"
import tar from "tar-stream";
// @ts-types="@types/yazl"
import yazl from "yazl";

/** The real split file, beside the repository in CI and on developer machines (never copied into it). */
export const REAL_AGEDB_SPLIT = fileURLToPath(
  new URL("../../shared/data/dir-splits/agedb.csv", import.meta.url),
);

/** Whether the real AgeDB-DIR split file is available. */
export const HAVE_REAL_AGEDB_SPLIT = (() => {
  try {
    return Deno.statSync(REAL_AGEDB_SPLIT).isFile;
  } catch {
    return false;
  }
})();

/** One file to put in a fixture archive. */
export interface FixtureFile {
  /** Entry name. For zips, non-ASCII names are written as CP437 bytes without the UTF-8 flag. */
  name: string;
  /** Contents. */
  data: Uint8Array | string;
}

const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

/** Encodes `text` as CP437 (ASCII plus the 128 high characters); throws on anything else. */
export function encodeCp437(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => {
    const code = ch.charCodeAt(0);
    if (code < 0x80) return code;
    const i = CP437_HIGH.indexOf(ch);
    if (i < 0) throw new Error(`not encodable in CP437: ${ch}`);
    return 0x80 + i;
  });
}

/**
 * A zip of `files` (deflated). Names that are not plain ASCII, or that yazl would refuse (such as
 * "../x"), are written byte for byte as CP437 with the UTF-8 flag cleared, as old zip tools do.
 * `zip64` writes zip64 records for every entry; `encrypted` sets the "encrypted" flag on every entry (the contents stay readable bytes, which is
 * enough to test that a reader refuses them).
 */
export async function makeZip(
  files: readonly FixtureFile[],
  options: { encrypted?: boolean; zip64?: boolean } = {},
): Promise<Uint8Array> {
  const zip = new yazl.ZipFile();
  const patches = new Map<string, Uint8Array>();
  files.forEach((f, i) => {
    const raw = encodeCp437(f.name);
    const plain = /^[\x20-\x7e]+$/.test(f.name) && !f.name.split("/").includes("..") &&
      !f.name.startsWith("/");
    // yazl writes UTF-8 names only, and validates them: write a placeholder of the same byte length.
    const name = plain ? f.name : placeholder(i, raw.length);
    if (!plain) patches.set(name, raw);
    const data = typeof f.data === "string" ? new TextEncoder().encode(f.data) : f.data;
    zip.addBuffer(Buffer.from(data), name, { mtime: new Date(2020, 0, 1), forceZip64Format: options.zip64 });
  });
  zip.end();
  const chunks: Uint8Array[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Uint8Array);
  const bytes = new Uint8Array(Buffer.concat(chunks));
  // The patcher reads 32-bit offsets only, which is all a non-zip64 fixture has.
  if (patches.size > 0 || options.encrypted) {
    patchZip(bytes, (name) => patches.get(name), !!options.encrypted);
  }
  return bytes;
}

function placeholder(i: number, length: number): string {
  const p = `p${i}_`;
  if (length < p.length) throw new Error("fixture name too short to patch");
  return p + "x".repeat(length - p.length);
}

/** Rewrites names and flags in place, in both the central directory and the local headers. */
function patchZip(bytes: Uint8Array, rawName: (name: string) => Uint8Array | undefined, encrypt: boolean) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  for (let k = 0; k < count; k++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error("fixture zip: bad central directory");
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = dec.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const raw = rawName(name);
    for (const [flagsAt, nameAt] of [[at + 8, at + 46], [local + 6, local + 30]]) {
      let flags = view.getUint16(flagsAt, true);
      if (raw) {
        flags &= ~0x0800;
        bytes.set(raw, nameAt);
      }
      if (encrypt) flags |= 0x0001;
      view.setUint16(flagsAt, flags, true);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
}

/** A tar of `files` (gzipped when `gzip`), written with tar-stream's packer. */
export async function makeTar(
  files: readonly FixtureFile[],
  options: { gzip?: boolean } = {},
): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Uint8Array);
  })();
  for (const f of files) {
    const data = typeof f.data === "string" ? new TextEncoder().encode(f.data) : f.data;
    await new Promise<void>((ok, fail) =>
      pack.entry(
        { name: f.name, size: data.byteLength, mtime: new Date(2020, 0, 1) },
        Buffer.from(data),
        (err) => err ? fail(err) : ok(),
      )
    );
  }
  pack.finalize();
  await done;
  const bytes = new Uint8Array(Buffer.concat(chunks));
  return options.gzip ? new Uint8Array(gzipSync(bytes)) : bytes;
}

/** A tiny real JPEG (`size`×`size`, a flat colour picked from `seed`). */
export async function tinyJpeg(seed: number, size = 8): Promise<Uint8Array> {
  const buf = await sharp({
    create: {
      width: size,
      height: size,
      channels: 3,
      background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 53) % 256 },
    },
  }).jpeg({ quality: 80 }).toBuffer();
  return new Uint8Array(buf);
}

/** Writes `files` as a directory tree under `root`. */
export async function writeTree(root: string, files: readonly FixtureFile[]): Promise<void> {
  for (const f of files) {
    const path = `${root}/${f.name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof f.data === "string") await Deno.writeTextFile(path, f.data);
    else await Deno.writeFile(path, f.data);
  }
}

/** A loopback HTTP server for fixture downloads. */
export interface FixtureServer {
  /** The URL of a served file. */
  url(name: string): string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Serves `files` (name → bytes) on 127.0.0.1 at a free port; anything else is a 404. */
export function serveFiles(files: Readonly<Record<string, Uint8Array>>): FixtureServer {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const name = decodeURIComponent(new URL(req.url).pathname.slice(1));
    requests.push(name);
    const data = files[name];
    return data ? new Response(data.slice()) : new Response("not found", { status: 404 });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return { url: (name) => `http://127.0.0.1:${port}/${name}`, requests, close: () => server.shutdown() };
}
