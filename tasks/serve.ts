/**
 * `deno task serve [--port 8000] [--host 127.0.0.1] [--db leaderboard.db] [--data data/] [--results results/]`
 *
 * Starts the leaderboard server. `--data` holds prepared dataset directories (the test labels submissions
 * are scored against); every results file under `--results` not stored yet is loaded first.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { isDir } from "../bench/core/fs.ts";
import { startLeaderboard } from "../leaderboard/server.ts";
import { intFlag, runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task serve [--port 8000] [--db <file>] [--data <dir>] [--results results/]

  --port <n>         port to listen on (default 8000; 0 picks a free one)
  --host <addr>      address to bind (default 127.0.0.1; 0.0.0.0 to serve other machines)
  --db <file>        the SQLite store (default leaderboard.db; created if missing)
  --data <dir>       directory of prepared datasets, one per dataset id (default data/ when it exists)
  --results <dir>    results files to load on start (default results/)
  --rate <n>         submissions per token per hour (default 20)
  --max-body <MiB>   largest submission body in MiB (default 64)`;

if (import.meta.main) {
  await runTask("serve", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", default: "8000" },
        host: { type: "string", default: "127.0.0.1" },
        db: { type: "string", default: "leaderboard.db" },
        data: { type: "string" },
        results: { type: "string", default: "results" },
        rate: { type: "string" },
        "max-body": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    const port = intFlag(values.port, "port", 8000);
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const data = values.data ?? ((await isDir("data")) ? "data" : undefined);
    const limits = {
      ...(values.rate === undefined ? {} : { ratePerWindow: intFlag(values.rate, "rate", 20, 1) }),
      ...(values["max-body"] === undefined
        ? {}
        : { maxBodyBytes: intFlag(values["max-body"], "max-body", 64, 1) * 1024 * 1024 }),
    };
    const lb = await startLeaderboard({ db: values.db, data, results: values.results, limits });
    for (const l of lb.report.loaded) console.log(`loaded ${l.file} (${l.created} new of ${l.ids.length})`);
    for (const s of lb.report.skipped) console.log(`skipped ${s.file}: ${s.reason}`);
    console.log(`datasets: ${[...lb.datasets.keys()].join(", ") || "none (no --data)"}`);
    const server = Deno.serve({
      port,
      hostname: values.host,
      onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/`),
    }, lb.app.fetch);
    const stop = async () => {
      await server.shutdown();
      lb.store.close();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await server.finished;
  });
}
