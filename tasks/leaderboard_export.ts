/**
 * `deno task leaderboard:export --out <dir> [--db leaderboard.db] [--data data/] [--results results/]`
 *
 * Writes the leaderboard's pages, downloads and figures as a static site.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { isDir } from "../bench/core/fs.ts";
import { exportSite } from "../leaderboard/export.ts";
import { startLeaderboard } from "../leaderboard/server.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE =
  `usage: deno task leaderboard:export --out <dir> [--db <file>] [--data <dir>] [--results results/]

  --out <dir>        where to write the site (must not exist, or be empty)
  --db <file>        the SQLite store (default leaderboard.db)
  --data <dir>       directory of prepared datasets (default data/ when it exists)
  --results <dir>    results files to load first, as serve does (default results/)`;

if (import.meta.main) {
  await runTask("leaderboard:export", USAGE, async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        out: { type: "string" },
        db: { type: "string", default: "leaderboard.db" },
        data: { type: "string" },
        results: { type: "string", default: "results" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    if (!values.out) throw new UsageError("--out is required");
    const data = values.data ?? ((await isDir("data")) ? "data" : undefined);
    const lb = await startLeaderboard({ db: values.db, data, results: values.results });
    try {
      const n = await exportSite(lb.app, lb.store, lb.datasets, values.out);
      console.log(`wrote ${n} files to ${values.out}`);
    } finally {
      lb.store.close();
    }
  });
}
