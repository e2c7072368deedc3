/**
 * `deno task token create --name <who> [--admin] [--db leaderboard.db]`
 *
 * Issues a submission token and prints it once, alone on the last line. Only its SHA-256 is stored.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openStore } from "../leaderboard/store.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE = `usage: deno task token create --name <who> [--admin] [--db <file>]

  --name <who>   who the token is for (shown on their submissions)
  --admin        the token may also hide submissions
  --db <file>    the SQLite store (default leaderboard.db)`;

if (import.meta.main) {
  await runTask("token", USAGE, () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        name: { type: "string" },
        admin: { type: "boolean", default: false },
        db: { type: "string", default: "leaderboard.db" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      return Promise.resolve();
    }
    if (positionals.length !== 1 || positionals[0] !== "create") {
      throw new UsageError(`expected the subcommand "create", got ${JSON.stringify(positionals.join(" "))}`);
    }
    const name = values.name?.trim();
    if (!name) throw new UsageError("--name is required");
    if (name.length > 100) throw new UsageError("--name must be at most 100 characters");
    const store = openStore(values.db);
    try {
      const token = store.createToken(name, values.admin);
      console.log(
        `${
          values.admin ? "admin " : ""
        }token for ${name} (stored hashed in ${values.db}; it is shown only once):`,
      );
      console.log(token);
    } finally {
      store.close();
    }
    return Promise.resolve();
  });
}
