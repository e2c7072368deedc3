/**
 * `deno task submit <results.json|predictions.jsonl> --dataset <id> --server <url> --token <t> [options]`
 *
 * Submits predictions to a leaderboard server, which re-scores them against its own test labels.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { InputError } from "../bench/core/errors.ts";
import { metricsTable } from "../bench/score/report.ts";
import type { Metrics } from "../bench/score/score.ts";
import { type MethodFlags, postSubmission, submissionBody } from "../leaderboard/client.ts";
import { runTask, UsageError } from "./_cli.ts";

const USAGE =
  `usage: deno task submit <results.json|predictions.jsonl> --dataset <id> --server <url> --token <t> [options]

  --dataset <id>        the dataset the predictions are for
  --server <url>        the leaderboard, e.g. http://127.0.0.1:8000
  --token <t>           your submission token (default: $DIRBENCH_TOKEN)
  --method <name>       method name (default: from the results file, or the predictions file name)
  --description <text>  what the method does
  --paper-url <url>     link to the paper
  --code-url <url>      link to the code
  --backbone <name>     the backbone model
  --family <name>       method family (e.g. SFT, GRPO, baseline)
  --extra-data <yes|no> whether data beyond the training split was used
  --config <json>       configuration, as a JSON object`;

if (import.meta.main) {
  await runTask("submit", USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        dataset: { type: "string" },
        server: { type: "string" },
        token: { type: "string" },
        method: { type: "string" },
        description: { type: "string" },
        "paper-url": { type: "string" },
        "code-url": { type: "string" },
        backbone: { type: "string" },
        family: { type: "string" },
        "extra-data": { type: "string" },
        config: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    if (positionals.length !== 1) {
      throw new UsageError("give exactly one results.json or predictions.jsonl file");
    }
    for (const flag of ["dataset", "server"] as const) {
      if (!values[flag]) throw new UsageError(`--${flag} is required`);
    }
    const token = values.token ?? Deno.env.get("DIRBENCH_TOKEN");
    if (!token) throw new UsageError("--token is required (or set DIRBENCH_TOKEN)");
    const extra = values["extra-data"];
    if (extra !== undefined && extra !== "yes" && extra !== "no") {
      throw new UsageError(`--extra-data must be yes or no, got "${extra}"`);
    }
    let config: Record<string, unknown> | undefined;
    if (values.config !== undefined) {
      try {
        config = JSON.parse(values.config);
      } catch {
        throw new UsageError(`--config must be a JSON object, got ${values.config}`);
      }
      if (config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new UsageError(`--config must be a JSON object, got ${values.config}`);
      }
    }
    const method: MethodFlags = {
      name: values.method,
      description: values.description,
      paperUrl: values["paper-url"],
      codeUrl: values["code-url"],
      backbone: values.backbone,
      family: values.family,
      extraData: extra === undefined ? undefined : extra === "yes",
      config,
    };
    const body = await submissionBody(positionals[0], values.dataset!, method);
    const answer = await postSubmission(values.server!, token, body);
    if (answer.status !== 200 && answer.status !== 201) {
      throw new InputError(
        `the server refused the submission (${answer.status}): ${answer.body.error ?? "?"}`,
      );
    }
    const id = String(answer.body.id);
    console.log(answer.status === 201 ? `stored as ${id}` : `already stored as ${id} (identical submission)`);
    console.log(metricsTable(answer.body.metrics as Metrics));
    for (const flag of (answer.body.flags as string[] | undefined) ?? []) console.log(`flag: ${flag}`);
    console.log(new URL(`/results/${id}/`, values.server!).href);
  });
}
