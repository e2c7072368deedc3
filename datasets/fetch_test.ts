import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import { exists, withTempDir } from "../tasks/_testing.ts";
import { downloadFile, gitBlobSha1, hashFile, md5Hex, type RemoteFile } from "./fetch.ts";

/** How the test server behaves; changed between requests by the tests. */
interface ServerPlan {
  /** Answer Range requests with 206 (else ignore Range and send 200 with everything). */
  honorRange: boolean;
  /** Per request, in order: cut the connection after this many body bytes (null: send it all). */
  cuts: (number | null)[];
}

interface TestServer {
  url: string;
  plan: ServerPlan;
  /** The Range header of each request (null when absent). */
  ranges: (string | null)[];
  close(): Promise<void>;
}

/**
 * A loopback file server on a raw TCP socket, so that it can close the connection after exactly `cut`
 * body bytes (an HTTP server framework would rather finish or abort the response on its own terms).
 */
function serve(data: Uint8Array): TestServer {
  const plan: ServerPlan = { honorRange: true, cuts: [] };
  const ranges: (string | null)[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) handlers.push(respond(conn));
    } catch {
      // The listener was closed.
    }
  })();
  const enc = new TextEncoder();

  async function respond(conn: Deno.Conn): Promise<void> {
    try {
      let head = "";
      const buf = new Uint8Array(4096);
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        head += new TextDecoder().decode(buf.subarray(0, n));
      }
      const range = /^range: *(.*)$/im.exec(head)?.[1]?.trim() ?? null;
      ranges.push(range);
      const cut = plan.cuts.shift() ?? null;
      const m = range && plan.honorRange ? /^bytes=(\d+)-$/.exec(range) : null;
      const start = m ? Number(m[1]) : 0;
      let status = "200 OK";
      const headers = [`accept-ranges: ${plan.honorRange ? "bytes" : "none"}`, "connection: close"];
      if (m && start >= data.byteLength) {
        status = "416 Range Not Satisfiable";
        headers.push("content-length: 0");
      } else if (m) {
        status = "206 Partial Content";
        headers.push(`content-range: bytes ${start}-${data.byteLength - 1}/${data.byteLength}`);
      }
      const body = status.startsWith("416") ? new Uint8Array() : data.subarray(start);
      if (!status.startsWith("416")) headers.push(`content-length: ${body.byteLength}`);
      await writeAll(conn, enc.encode(`HTTP/1.1 ${status}\r\n${headers.join("\r\n")}\r\n\r\n`));
      await writeAll(conn, cut === null ? body : body.subarray(0, cut));
    } finally {
      conn.close();
    }
  }

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/file.bin`,
    plan,
    ranges,
    close: async () => {
      listener.close();
      await accepting;
      await Promise.allSettled(handlers);
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) at += await conn.write(bytes.subarray(at));
}

function payload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7919 + (i >> 8)) & 0xff;
  return out;
}

async function withServer(data: Uint8Array, fn: (s: TestServer, dir: string) => Promise<void>) {
  const s = serve(data);
  try {
    await withTempDir("fetch-", (dir) => fn(s, dir));
  } finally {
    await s.close();
  }
}

async function pinned(data: Uint8Array, url: string): Promise<RemoteFile> {
  return {
    name: "file.bin",
    url,
    sha256: await sha256Hex(data),
    md5: md5Hex(data),
    gitBlobSha1: await gitBlobSha1(data),
  };
}

const DATA = payload(300_000);

Deno.test("gitBlobSha1 matches git hash-object, and hashFile agrees with one-shot hashes", async () => {
  const hello = new TextEncoder().encode("hello\n");
  assert.equal(await gitBlobSha1(hello), "ce013625030ba8dba906f756967f9e9ca394464a");
  assert.equal(await gitBlobSha1(new Uint8Array()), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  assert.equal(md5Hex(hello), "b1946ac92492d2347c6235b4d2611184");
  await withTempDir("fetch-", async (dir) => {
    const path = join(dir, "x");
    await Deno.writeFile(path, DATA);
    assert.deepEqual(await hashFile(path, { sha256: true, md5: true, gitBlobSha1: true }), {
      sha256: await sha256Hex(DATA),
      md5: createHash("md5").update(DATA).digest("hex"),
      gitBlobSha1: await gitBlobSha1(DATA),
    });
  });
});

Deno.test("downloadFile downloads, verifies every hash and renames into place", async () => {
  await withServer(DATA, async (s, dir) => {
    const dest = join(dir, "sub", "file.bin");
    const result = await downloadFile({ ...await pinned(DATA, s.url), size: DATA.byteLength }, dest, {
      quiet: true,
    });
    assert.deepEqual(result, { bytes: DATA.byteLength, resumedFrom: 0, skipped: false });
    assert.deepEqual(await Deno.readFile(dest), DATA);
    assert.equal(await exists(`${dest}.part`), false);
    assert.deepEqual(s.ranges, [null]);
  });
});

Deno.test("a dropped connection is resumed with a Range request and the result is byte-identical", async () => {
  await withServer(DATA, async (s, dir) => {
    const dest = join(dir, "file.bin");
    const file = await pinned(DATA, s.url);
    // Within one call: the first response is cut, the call resumes by itself.
    s.plan.cuts = [100_000];
    const first = await downloadFile(file, dest, { quiet: true });
    assert.equal(first.skipped, false);
    assert.equal(s.ranges[0], null);
    assert.match(s.ranges[1] ?? "", /^bytes=\d+-$/);
    const from = Number(/\d+/.exec(s.ranges[1]!)![0]);
    assert.ok(from > 0 && from <= 100_000, `resumed from ${from}`);
    assert.equal(first.resumedFrom, from);
    assert.deepEqual(await Deno.readFile(dest), DATA);

    // Across calls: a .part left by an earlier, interrupted run is continued, not restarted.
    await Deno.remove(dest);
    await Deno.writeFile(`${dest}.part`, DATA.subarray(0, 123_456));
    s.ranges.length = 0;
    const second = await downloadFile(file, dest, { quiet: true });
    assert.deepEqual(s.ranges, ["bytes=123456-"]);
    assert.deepEqual(second, { bytes: DATA.byteLength, resumedFrom: 123_456, skipped: false });
    assert.deepEqual(await Deno.readFile(dest), DATA);
    assert.equal(await exists(`${dest}.part`), false);

    // A .part that already holds everything: the server answers 416 and the file is just verified.
    await Deno.rename(dest, `${dest}.part`);
    s.ranges.length = 0;
    const third = await downloadFile(file, dest, { quiet: true });
    assert.deepEqual(s.ranges, [`bytes=${DATA.byteLength}-`]);
    assert.deepEqual(third, { bytes: DATA.byteLength, resumedFrom: DATA.byteLength, skipped: false });
  });
});

Deno.test("a server that ignores Range gets a full download over the stale .part", async () => {
  await withServer(DATA, async (s, dir) => {
    s.plan.honorRange = false;
    const dest = join(dir, "file.bin");
    await Deno.writeFile(`${dest}.part`, DATA.subarray(0, 5_000));
    const result = await downloadFile(await pinned(DATA, s.url), dest, { quiet: true });
    assert.deepEqual(s.ranges, ["bytes=5000-"]);
    assert.deepEqual(result, { bytes: DATA.byteLength, resumedFrom: 0, skipped: false });
    assert.deepEqual(await Deno.readFile(dest), DATA);
  });
});

Deno.test("a hash mismatch deletes the download, names file and hashes, and leaves nothing at dest", async () => {
  await withServer(DATA, async (s, dir) => {
    const dest = join(dir, "file.bin");
    const wrong = "0".repeat(64);
    await assert.rejects(
      () => downloadFile({ name: "file.bin", url: s.url, sha256: wrong }, dest, { quiet: true }),
      (err: Error) => {
        assert.ok(err instanceof InputError);
        assert.match(err.message, /file\.bin/);
        assert.match(err.message, new RegExp(`expected ${wrong}`));
        assert.ok(
          err.message.includes(`got ${createHash("sha256").update(DATA).digest("hex")}`),
          err.message,
        );
        return true;
      },
    );
    assert.equal(await exists(dest), false);
    assert.equal(await exists(`${dest}.part`), false);

    // The git blob check names its hash too.
    await assert.rejects(
      () =>
        downloadFile({ name: "file.bin", url: s.url, gitBlobSha1: "1".repeat(40) }, dest, { quiet: true }),
      /git blob SHA-1 mismatch: expected 1{40}/,
    );
    // A wrong size is caught as well.
    await assert.rejects(
      () => downloadFile({ name: "file.bin", url: s.url, size: 5 }, dest, { quiet: true }),
      /size mismatch: expected 5 bytes/,
    );
    assert.equal(await exists(dest), false);
  });
});

Deno.test("an already-present file with the right hash is skipped; a corrupt one is replaced", async () => {
  await withServer(DATA, async (s, dir) => {
    const dest = join(dir, "file.bin");
    const file = await pinned(DATA, s.url);
    await Deno.writeFile(dest, DATA);
    assert.deepEqual(await downloadFile(file, dest, { quiet: true }), {
      bytes: DATA.byteLength,
      resumedFrom: 0,
      skipped: true,
    });
    assert.equal(s.ranges.length, 0);
    await Deno.writeFile(dest, DATA.subarray(0, 10));
    const again = await downloadFile(file, dest, { quiet: true });
    assert.equal(again.skipped, false);
    assert.deepEqual(await Deno.readFile(dest), DATA);
  });
});

Deno.test("HTTP errors and unreachable servers give a clear InputError, keeping a partial download", async () => {
  await withServer(DATA, async (s, dir) => {
    const dest = join(dir, "file.bin");
    await assert.rejects(
      () =>
        downloadFile({ name: "file.bin", url: s.url }, dest, {
          quiet: true,
          fetchImpl: () => Promise.resolve(new Response("nope", { status: 404, statusText: "Not Found" })),
        }),
      /file\.bin: download from .* failed \(HTTP 404 Not Found\); run the command again to retry/,
    );
    // Every attempt is cut: after the automatic resumes, the error says how to continue.
    s.plan.cuts = Array(10).fill(1_000);
    await assert.rejects(
      () => downloadFile({ name: "file.bin", url: s.url }, dest, { quiet: true }),
      /bytes are kept in file\.bin\.part; run the command again to resume/,
    );
    assert.ok(((await Deno.stat(`${dest}.part`)).size) > 0);
    assert.equal(await exists(dest), false);
    // Nothing listens on a port that was just released.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await assert.rejects(
      () =>
        downloadFile({ name: "x.bin", url: `http://127.0.0.1:${port}/x.bin` }, join(dir, "x.bin"), {
          quiet: true,
        }),
      (err: Error) => err instanceof InputError && /x\.bin: download from .* failed \(/.test(err.message),
    );
  });
});
