/**
 * The submission client behind `deno task submit`: builds a `POST /api/submissions` body from a results
 * file or a predictions file and sends it.
 *
 * @module
 */

import { InputError } from "../bench/core/errors.ts";
import { readPredictions } from "../bench/score/predictions.ts";
import { readResults } from "../bench/score/results.ts";

/** Method metadata given on the command line (overrides what a results file says). */
export interface MethodFlags {
  /** Method name. */
  name?: string;
  /** Description. */
  description?: string;
  /** Paper URL. */
  paperUrl?: string;
  /** Code URL. */
  codeUrl?: string;
  /** Backbone. */
  backbone?: string;
  /** Method family. */
  family?: string;
  /** Whether extra data was used. */
  extraData?: boolean;
  /** Configuration. */
  config?: Record<string, unknown>;
}

function defined(flags: MethodFlags): Record<string, unknown> {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
}

/**
 * Builds a submission body from `file`: a results file (`.json`, format `dirbench.results/1`: its
 * per-sample predictions, method name and config, and its metrics as self-reported) or a predictions
 * JSONL file. `dataset` must match a results file's dataset id.
 */
export async function submissionBody(
  file: string,
  dataset: string,
  method: MethodFlags,
): Promise<Record<string, unknown>> {
  if (/\.json$/i.test(file)) {
    const results = await readResults(file);
    if (results.dataset.id !== dataset) {
      throw new InputError(
        `was scored on ${JSON.stringify(results.dataset.id)}, not on --dataset ${JSON.stringify(dataset)}`,
        { file },
      );
    }
    const config = results.method.config ?? {};
    const fromConfig = Object.fromEntries(
      ["backbone", "family", "description", "paperUrl", "codeUrl", "extraData"]
        .filter((k) => config[k] !== undefined)
        .map((k) => [k, config[k]]),
    );
    return {
      dataset,
      method: { name: results.method.name, config, ...fromConfig, ...defined(method) },
      predictions: results.samples.map((s) =>
        s.output === null ? { id: s.id, value: s.value } : { id: s.id, output: s.output }
      ),
      metrics: results.metrics,
    };
  }
  const predictions = await readPredictions(file);
  const name = method.name ?? file.split(/[\\/]/).pop()!.replace(/\.jsonl?$/i, "");
  return {
    dataset,
    method: { ...defined(method), name },
    predictions: predictions.map(({ line: _line, ...p }) => p),
  };
}

/** The server's answer. */
export interface SubmitAnswer {
  /** HTTP status. */
  status: number;
  /** The JSON body (or `{error}` with the text when it was not JSON). */
  body: Record<string, unknown>;
}

/** Posts a submission body to `server` with a bearer token. */
export async function postSubmission(server: string, token: string, body: unknown): Promise<SubmitAnswer> {
  let url: URL;
  try {
    url = new URL("/api/submissions", server);
  } catch {
    throw new InputError(
      `--server must be a URL such as http://127.0.0.1:8000, got ${JSON.stringify(server)}`,
    );
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new InputError(`cannot reach ${url.origin}: ${(err as Error).message}`);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: { error: text.slice(0, 500) } };
  }
}
