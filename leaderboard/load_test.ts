/**
 * `deno task bench:leaderboard [--results 1000] [--test 500] [--requests 5000] [--concurrency 4,8,16]
 * [--submissions 200] [--seconds 30]`
 *
 * A bounded load test on loopback (not a CI test): stores `--results` scored results on one synthetic
 * dataset (four backbones), starts `tasks/serve.ts` in a subprocess on 127.0.0.1, then measures requests
 * per second and latency percentiles for the dataset page (its best 50 rows per table, and `all/`) at each
 * concurrency level, and for submissions. Every phase stops at its
 * request count or after `--seconds`, whichever comes first.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { seededRng } from "../bench/core/rng.ts";
import { readPreparedDataset, writePreparedDataset } from "../datasets/format.ts";
import { intFlag, runTask } from "../tasks/_cli.ts";
import { openStore } from "./store.ts";
import { parseSubmission, scoreSubmission } from "./submit.ts";
import { TEST_PROVENANCE } from "./_testing.ts";
import type { NewResult } from "./model.ts";

const SERVE = fileURLToPath(new URL("../tasks/serve.ts", import.meta.url));

const USAGE = `usage: deno task bench:leaderboard [--results 1000] [--test 500] [--requests 5000]
  [--concurrency 4,8,16] [--submissions 200] [--seconds 30]`;

/** Latency summary of one phase. */
interface Phase {
  /** What was requested. */
  name: string;
  /** Requests completed. */
  requests: number;
  /** Non-2xx answers. */
  failures: number;
  /** Requests per second over the phase. */
  rps: number;
  /** Median latency, ms. */
  p50: number;
  /** 99th percentile latency, ms. */
  p99: number;
  /** Bytes of the last answer. */
  bytes: number;
}

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * A minimal HTTP/1.1 keep-alive client on one connection (like wrk's): it reads exactly Content-Length bytes
 * and parses nothing else, so on a 2-core machine the client spends little of the CPU the server needs.
 */
async function rawClient(
  port: number,
  encoding: "gzip" | "identity",
): Promise<{ get(path: string): Promise<Response>; close(): void }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let buf = new Uint8Array(1 << 20);
  let have = 0;
  const fill = async () => {
    if (have === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = await conn.read(buf.subarray(have));
    if (n === null) throw new Error("connection closed");
    have += n;
  };
  const encoder = new TextEncoder(), decoder = new TextDecoder();
  return {
    async get(path) {
      await conn.write(
        encoder.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: ${encoding}\r\n\r\n`),
      );
      let end = -1;
      while (end < 0) {
        await fill();
        const head = decoder.decode(buf.subarray(0, Math.min(have, 8192)));
        end = head.indexOf("\r\n\r\n");
      }
      const head = decoder.decode(buf.subarray(0, end));
      const status = Number(head.slice(9, 12));
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (!Number.isFinite(length)) throw new Error(`no Content-Length in ${head}`);
      const total = end + 4 + length;
      while (have < total) await fill();
      const body = buf.slice(end + 4, total);
      buf.copyWithin(0, total, have);
      have -= total;
      return new Response(status === 304 ? null : body, { status });
    },
    close: () => conn.close(),
  };
}

/** Runs `make(i)` requests with `concurrency` in flight until `count` are done or `seconds` pass. */
async function phase(
  name: string,
  count: number,
  concurrency: number,
  seconds: number,
  make: (i: number, worker: number) => Promise<Response>,
  ok: (status: number) => boolean,
): Promise<Phase> {
  const latencies: number[] = [];
  let next = 0, failures = 0, bytes = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  const worker = async (w: number) => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      const res = await make(i, w);
      const body = await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      bytes = body.byteLength;
      if (!ok(res.status)) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    failures,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    bytes,
  };
}

if (import.meta.main) {
  await runTask("bench:leaderboard", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        results: { type: "string" },
        test: { type: "string" },
        requests: { type: "string" },
        concurrency: { type: "string" },
        submissions: { type: "string" },
        seconds: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) return console.log(USAGE);
    const nResults = intFlag(values.results, "results", 1000, 1);
    const nTest = intFlag(values.test, "test", 500, 10);
    const nRequests = intFlag(values.requests, "requests", 5000, 1);
    const levels = (values.concurrency ?? "4,8,16").split(",").map((v) => intFlag(v, "concurrency", 16, 1));
    const concurrency = Math.max(...levels);
    const nSubmissions = intFlag(values.submissions, "submissions", 200, 1);
    const seconds = intFlag(values.seconds, "seconds", 30, 1);

    const dir = await Deno.makeTempDir({ prefix: "dirbench-lb-load-" });
    let server: Deno.ChildProcess | undefined;
    try {
      // A long-tailed training split over 0..100 and a balanced test split, like synthetic-dir.
      const rng = seededRng(7);
      const train = Array.from(
        { length: 4000 },
        (_, i) => ({ id: `a${i}`, label: Math.floor(100 * rng() ** 3) }),
      );
      const test = Array.from(
        { length: nTest },
        (_, i) => ({ id: `t${i}`, label: Math.floor((i * 101) / nTest) }),
      );
      const data = join(dir, "data");
      await writePreparedDataset(
        join(data, "load-dir"),
        { id: "load-dir", prompt: "How many?", label: { min: 0, max: 100, unit: "dots" } },
        train,
        test,
      );
      const dataset = await readPreparedDataset(join(data, "load-dir"));
      const datasets = new Map([["load-dir", dataset]]);

      const db = join(dir, "lb.db");
      const store = openStore(db);
      const t0 = performance.now();
      const batch: NewResult[] = [];
      for (let k = 0; k < nResults; k++) {
        const noise = 2 + (k % 97) / 10;
        const predictions = test.map((s, i) => ({
          id: s.id,
          value: s.label + noise * Math.sin(k * 7.1 + i * 1.3) + (s.label > 60 ? -noise : 0),
        }));
        const body = {
          dataset: "load-dir",
          method: {
            name: `method-${k}`,
            backbone: `backbone-${k % 4}`,
            family: ["SFT", "GRPO", "baseline"][k % 3],
          },
          predictions,
        };
        batch.push(await scoreSubmission(parseSubmission(body, datasets), TEST_PROVENANCE));
        if (batch.length === 100) store.insertResults(batch.splice(0));
      }
      if (batch.length > 0) store.insertResults(batch);
      const token = store.createToken("load");
      store.close();
      console.log(
        `stored ${nResults} results (${nTest} test samples each) in ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
      );

      server = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-net=127.0.0.1",
          "--allow-env",
          "--allow-run=git",
          SERVE,
          "--port",
          "0",
          "--db",
          db,
          "--data",
          data,
          "--results",
          join(dir, "none"),
          "--rate",
          "1000000",
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "", url = "";
      while (!url) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the server did not start:\n${seen}`);
        seen += value;
        url = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(seen)?.[1] ?? "";
      }
      (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
      })();

      const page = `${url}/datasets/load-dir/`;
      const w0 = performance.now();
      const first = await fetch(page);
      const html = await first.text();
      console.log(
        `first render of the dataset page (stored ranks): ${(performance.now() - w0).toFixed(0)} ms, ${
          (html.length / 1e6).toFixed(2)
        } MB`,
      );
      await phase("warm-up", 200, concurrency, seconds, () => fetch(page), (s) => s === 200);
      await (await fetch(`${url}/datasets/load-dir/all/`)).arrayBuffer();
      const phases: Phase[] = [];
      // Browsers send Accept-Encoding: gzip and get the page gzipped once per store version; the identity
      // phase shows what an uncompressed page costs on the same machine.
      const pages = [
        ["dataset page", "/datasets/load-dir/", ["gzip", "identity"]],
        ["all results", "/datasets/load-dir/all/", ["gzip"]],
      ] as const;
      for (const [what, pagePath, encodings] of pages) {
        for (const encoding of encodings) {
          for (const level of levels) {
            const clients = await Promise.all(
              Array.from({ length: level }, () => rawClient(Number(new URL(url).port), encoding)),
            );
            phases.push(
              await phase(
                `${what} ${encoding} c=${level}`,
                nRequests,
                level,
                seconds,
                (_i, w) => clients[w].get(pagePath),
                (s) => s === 200,
              ),
            );
            for (const c of clients) c.close();
          }
        }
      }
      phases.push(
        await phase(
          "POST /api/submissions",
          nSubmissions,
          4,
          seconds,
          (i) =>
            fetch(`${url}/api/submissions`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
              body: JSON.stringify({
                dataset: "load-dir",
                method: { name: `load-${i}`, backbone: "backbone-0" },
                predictions: test.map((s, j) => ({ id: s.id, value: s.label + Math.cos(i + j) * 3 })),
              }),
            }),
          (s) => s === 201,
        ),
      );
      const w1 = performance.now();
      await (await fetch(page)).arrayBuffer();
      console.log(`dataset page re-render after the submissions: ${(performance.now() - w1).toFixed(0)} ms`);
      // A submission that takes the lead of its table (exact predictions): its write compares every other
      // result of the table with it.
      const l0 = performance.now();
      const lead = await fetch(`${url}/api/submissions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          dataset: "load-dir",
          method: { name: "load-leader", backbone: "backbone-1" },
          predictions: test.map((s) => ({ id: s.id, value: s.label })),
        }),
      });
      await lead.arrayBuffer();
      console.log(
        `a submission that takes the lead of a ${Math.ceil(nResults / 4)}-result table: ${lead.status}, ${
          (performance.now() - l0).toFixed(0)
        } ms`,
      );
      const w2 = performance.now();
      await (await fetch(page)).arrayBuffer();
      console.log(`dataset page re-render after it: ${(performance.now() - w2).toFixed(0)} ms`);
      console.log(
        `\n${"phase".padEnd(28)} ${"requests".padStart(8)} ${"fail".padStart(5)} ${"req/s".padStart(8)} ${
          "p50 ms".padStart(8)
        } ${"p99 ms".padStart(8)} ${"bytes".padStart(9)}`,
      );
      for (const p of phases) {
        console.log(
          `${p.name.padEnd(28)} ${String(p.requests).padStart(8)} ${String(p.failures).padStart(5)} ${
            p.rps.toFixed(0).padStart(8)
          } ${p.p50.toFixed(1).padStart(8)} ${p.p99.toFixed(1).padStart(8)} ${String(p.bytes).padStart(9)}`,
        );
      }
    } finally {
      if (server) {
        server.kill("SIGTERM");
        await server.status;
      }
      await Deno.remove(dir, { recursive: true });
    }
  });
}
