/**
 * The real server in a subprocess: `deno task token` and `deno task submit` against it, then a burst of
 * concurrent submissions during which the server is killed with SIGKILL. Every acknowledged submission
 * must be in the store, complete, and nothing partial may be there.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT, runScript, TEST_LABELS, withTempDir, writeToyDataset } from "../tasks/_testing.ts";
import { openStore } from "./store.ts";

const SERVE = fileURLToPath(new URL("../tasks/serve.ts", import.meta.url));
const TOKEN = fileURLToPath(new URL("../tasks/token.ts", import.meta.url));
const SUBMIT = fileURLToPath(new URL("../tasks/submit.ts", import.meta.url));

/** A running server subprocess and its address. */
interface Server {
  /** The process. */
  child: Deno.ChildProcess;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
}

/** Starts `tasks/serve.ts` on a free loopback port with `deno task serve`'s permissions. */
async function startServer(args: string[]): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
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
      ...args,
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(seen);
    if (m) {
      // Keep draining stdout so the server never blocks on a full pipe.
      (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
      })();
      return { child, url: m[1] };
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`the server did not start:\n${seen}`);
}

function body(name: string, offset: number): string {
  return JSON.stringify({
    dataset: "toy-dir",
    method: { name, backbone: "bb" },
    predictions: TEST_LABELS.map((label, i) => ({ id: `t${i}`, value: label + offset + i * 0.01 })),
  });
}

Deno.test({
  name: "server: token and submit CLIs, then SIGKILL mid-burst loses no acknowledged submission",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withTempDir("dirbench-lb-crash-", async (dir) => {
      await writeToyDataset(join(dir, "data", "toy-dir"));
      await Deno.mkdir(join(dir, "results"));
      const db = join(dir, "lb.db");

      const created = await runScript(TOKEN, ["create", "--name", "carol", "--db", db], [
        "--allow-read",
        "--allow-write",
        "--allow-env",
      ]);
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim().split("\n").at(-1)!;
      assert.match(token, /^dlb_1_[A-Za-z0-9_-]{43}$/);
      const usage = await runScript(TOKEN, ["create", "--db", db], [
        "--allow-read",
        "--allow-write",
        "--allow-env",
      ]);
      assert.equal(usage.code, 2);

      const server = await startServer([
        "--db",
        db,
        "--data",
        join(dir, "data"),
        "--results",
        join(dir, "results"),
        "--rate",
        "100000",
      ]);
      const acked = new Set<string>();
      try {
        const predictions = join(dir, "p.jsonl");
        await Deno.writeTextFile(
          predictions,
          TEST_LABELS.map((l, i) => JSON.stringify({ id: `t${i}`, output: `<answer>${l + 3}</answer>` }))
            .join("\n"),
        );
        const net = ["--allow-read", "--allow-net=127.0.0.1", "--allow-env"];
        const args = [predictions, "--dataset", "toy-dir", "--server", server.url, "--token", token];
        const sent = await runScript(SUBMIT, [...args, "--backbone", "bb", "--family", "SFT"], net);
        assert.equal(sent.code, 0, sent.stderr);
        assert.match(sent.stdout, /^stored as [0-9a-f]{32}$/m);
        acked.add(/stored as ([0-9a-f]{32})/.exec(sent.stdout)![1]);
        const refused = await runScript(SUBMIT, [...args.slice(0, -1), "wrong"], net);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /refused the submission \(401\)/);

        // The burst: 4 clients in parallel; the server is killed once 12 submissions were acknowledged.
        let next = 0, killed = false;
        const client = async () => {
          while (!killed && next < 200) {
            const i = next++;
            try {
              const res = await fetch(`${server.url}/api/submissions`, {
                method: "POST",
                headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
                body: body(`burst-${i}`, 1 + i * 0.1),
              });
              const answer = await res.json();
              if (res.status === 201) acked.add(answer.id);
              if (acked.size >= 13 && !killed) {
                killed = true;
                server.child.kill("SIGKILL");
              }
            } catch {
              return; // the connection died with the server
            }
          }
        };
        await Promise.all([client(), client(), client(), client()]);
        assert.ok(killed, "the burst ended before the kill");
      } finally {
        try {
          server.child.kill("SIGKILL");
        } catch { /* already dead */ }
        await server.child.status;
      }

      const store = openStore(db);
      try {
        assert.equal(store.integrityCheck(), "ok");
        const rows = store.rows();
        const stored = new Set(rows.map((r) => r.id));
        for (const id of acked) assert.ok(stored.has(id), `acknowledged ${id} was lost`);
        for (const row of rows) {
          const results = store.results(row.id);
          assert.ok(results, `${row.id} has no results`);
          assert.equal(results.samples.length, TEST_LABELS.length, `${row.id} is partial`);
          assert.equal(results.metrics.all.n, TEST_LABELS.length);
        }
      } finally {
        store.close();
      }
    });
  },
});
