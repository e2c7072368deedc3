/**
 * Test helpers for the leaderboard: the toy prepared dataset of `tasks/_testing.ts`, a fresh store, an app,
 * tokens, and submission bodies.
 *
 * @module
 */

import { join } from "node:path";
import type { Provenance } from "../bench/core/provenance.ts";
import { type PreparedDataset, readPreparedDataset } from "../datasets/format.ts";
import { TEST_LABELS, writeToyDataset } from "../tasks/_testing.ts";
import { createApp, type Limits } from "./app.ts";
import { openStore, type Store } from "./store.ts";

/** A fixed provenance, so tests do not call git. */
export const TEST_PROVENANCE: Provenance = {
  dirbench: "test",
  git: { commit: null, dirty: null },
  deno: Deno.version.deno,
  v8: Deno.version.v8,
  os: "test",
  date: "2026-01-01T00:00:00.000Z",
  seeds: {},
  adapter: null,
};

/** Writes the toy dataset into `dir/toy-dir` and reads it back. */
export async function toyDataset(dir: string): Promise<PreparedDataset> {
  const path = join(dir, "toy-dir");
  await writeToyDataset(path);
  return await readPreparedDataset(path);
}

/** Predictions for every toy test id: each label plus `offset` (numbers), ids t0..t11. */
export function toyPredictions(offset = 1, noise = 0): { id: string; value: number }[] {
  return TEST_LABELS.map((label, i) => ({ id: `t${i}`, value: label + offset + (i % 3) * noise }));
}

/** A submission body for the toy dataset. */
export function toyBody(
  name = "toy-method",
  predictions: unknown[] = toyPredictions(),
  method: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    dataset: "toy-dir",
    method: { name, backbone: "toy-backbone", family: "SFT", ...method },
    predictions,
  };
}

/** A fresh in-memory store, an app over it with the toy dataset, a user token and an admin token. */
export interface TestApp {
  /** The store. */
  store: Store;
  /** The app. */
  app: ReturnType<typeof createApp>;
  /** A plain token. */
  token: string;
  /** An admin token. */
  admin: string;
  /** The toy dataset. */
  dataset: PreparedDataset;
  /** Posts a submission body (an object is sent as JSON) with a token (default: the plain one). */
  submit(body: unknown, token?: string | null, headers?: Record<string, string>): Promise<Response>;
}

/** Builds a {@linkcode TestApp} whose dataset files live in `dir`. */
export async function testApp(
  dir: string,
  limits: Partial<Limits> = {},
  dbPath = ":memory:",
): Promise<TestApp> {
  const dataset = await toyDataset(dir);
  const store = openStore(dbPath);
  const app = createApp({
    store,
    datasets: new Map([["toy-dir", dataset]]),
    provenance: TEST_PROVENANCE,
    limits,
    log: () => {},
  });
  const token = store.createToken("alice");
  const admin = store.createToken("root", true);
  return {
    store,
    app,
    token,
    admin,
    dataset,
    submit(body, tok = token, headers = {}) {
      return Promise.resolve(app.request("/api/submissions", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(tok === null ? {} : { authorization: `Bearer ${tok}` }),
          ...headers,
        },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }));
    },
  };
}
