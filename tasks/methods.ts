/**
 * `deno task methods [--json]`: lists the training methods (id, family, description).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { METHODS } from "../bench/methods/registry.ts";
import { runTask } from "./_cli.ts";

const USAGE = `usage: deno task methods [--json]`;

if (import.meta.main) {
  await runTask("methods", USAGE, () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    if (values.help) console.log(USAGE);
    else if (values.json) {
      console.log(
        JSON.stringify(METHODS.map(({ id, family, description }) => ({ id, family, description }))),
      );
    } else {
      const width = Math.max(...METHODS.map((m) => m.id.length));
      for (const m of METHODS) console.log(`${m.id.padEnd(width)}  ${m.family.padEnd(10)}  ${m.description}`);
    }
    return Promise.resolve();
  });
}
