/**
 * The leaderboard's store: one SQLite file (`node:sqlite`) in WAL mode with full synchronous commits.
 * Results are immutable once stored (triggers refuse updates of their content and deletes; only the
 * `hidden` flag can change). Every write is one `BEGIN IMMEDIATE` transaction, so a crash leaves either the
 * whole submission or nothing. All SQL is prepared with parameters.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { RegionComparison } from "../bench/score/compare.ts";
import type { Results } from "../bench/score/results.ts";
import type { SampleRecord } from "../bench/score/score.ts";
import type { NewResult, ResultRow } from "./model.ts";
import { compareWithLeader, missingComparisons, planTable } from "./ranks.ts";

/** Schema migrations, applied in order; `PRAGMA user_version` records how many have run. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tokens (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL,
     hash TEXT NOT NULL,
     admin INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL
   );
   CREATE TABLE results (
     id TEXT PRIMARY KEY,
     dataset_id TEXT NOT NULL,
     test_sha256 TEXT,
     status TEXT NOT NULL CHECK (status IN ('verified', 'unverified', 'reported')),
     source TEXT NOT NULL CHECK (source IN ('submission', 'file', 'paper')),
     row_json TEXT NOT NULL,
     results_json TEXT,
     samples_json TEXT,
     sample_count INTEGER NOT NULL,
     token_id INTEGER REFERENCES tokens(id),
     created_at TEXT NOT NULL,
     hidden INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX results_dataset ON results (dataset_id);
   CREATE TRIGGER results_immutable BEFORE UPDATE OF
     id, dataset_id, test_sha256, status, source, row_json, results_json, samples_json, sample_count,
     token_id, created_at ON results
   BEGIN SELECT RAISE(ABORT, 'stored results are immutable'); END;
   CREATE TRIGGER results_no_delete BEFORE DELETE ON results
   BEGIN SELECT RAISE(ABORT, 'stored results are immutable'); END;
   CREATE TABLE loaded_files (
     sha256 TEXT PRIMARY KEY,
     path TEXT NOT NULL,
     result_ids TEXT NOT NULL,
     loaded_at TEXT NOT NULL
   );`,
  // Paired comparisons of results with their table's leader (ranks.ts), computed when results are written.
  // Both results are immutable, so a row never changes; a leader that loses its place leaves its rows, which
  // serve again if it leads again (after an unhide).
  `CREATE TABLE comparisons (
     leader_id TEXT NOT NULL REFERENCES results(id),
     result_id TEXT NOT NULL REFERENCES results(id),
     n INTEGER NOT NULL,
     mae_leader REAL,
     mae_result REAL,
     diff REAL,
     ci_low REAL,
     ci_high REAL,
     p REAL,
     PRIMARY KEY (leader_id, result_id)
   ) WITHOUT ROWID;
   CREATE TRIGGER comparisons_immutable BEFORE UPDATE ON comparisons
   BEGIN SELECT RAISE(ABORT, 'stored comparisons are immutable'); END;`,
];

/** A token's identity once verified. */
export interface TokenInfo {
  /** Token row id. */
  id: number;
  /** Who it was issued to. */
  name: string;
  /** Whether it may hide submissions. */
  admin: boolean;
}

/** The outcome of {@linkcode Store.insertResults}: per result, its id and whether it was new. */
export interface Inserted {
  /** The result id. */
  id: string;
  /** False when an identical result was already stored. */
  created: boolean;
}

/** The leaderboard's store. */
export interface Store {
  /** Incremented on every committed write by this process; caches key on it. */
  version(): number;
  /**
   * Stores results in one transaction (all or nothing); a result whose id is stored already is left as it
   * is. `tokenId` records the submitter; `file` records a loaded results file (by content hash).
   */
  insertResults(
    results: readonly NewResult[],
    options?: { tokenId?: number; file?: { path: string; sha256: string } },
  ): Inserted[];
  /**
   * Computes ahead, in slices that let other requests run in between, the comparisons that storing these
   * results will need (all of a table's when one takes the lead), so that {@linkcode insertResults} finds
   * them ready instead of holding the server for them. Writes nothing; optional (insertResults computes
   * whatever is still missing).
   */
  prepareComparisons(results: readonly NewResult[]): Promise<void>;
  /** A result's row, or null. Hidden rows are returned (with `hidden: true`). */
  row(id: string): ResultRow | null;
  /** The full results object (with per-sample records) of a scored result, or null. */
  results(id: string): Results | null;
  /** Whether a result has per-sample records (without reading them). */
  hasSamples(id: string): boolean;
  /**
   * The stored paired comparison (the whole test set, MAE(result) − MAE(leader)) of result `id` with the
   * leader `leaderId`, or null. Every write computes and stores, in its transaction, the comparisons its
   * tables' ranks need (`ranks.ts`), so reading ranks never runs a bootstrap.
   */
  comparison(leaderId: string, id: string): RegionComparison | null;
  /** Visible rows, optionally of one dataset, in insertion order. */
  rows(datasetId?: string): ResultRow[];
  /** Dataset ids with at least one visible result. */
  datasetIds(): string[];
  /** Sets or clears a result's hidden flag; false when the id is unknown. */
  setHidden(id: string, hidden: boolean): boolean;
  /** Whether a file with this content hash was loaded already. */
  fileLoaded(sha256: string): boolean;
  /** Issues a token and returns it; only its hash is stored. */
  createToken(name: string, admin?: boolean): string;
  /** The token's identity, or null when it is unknown or wrong. Compares hashes in constant time. */
  verifyToken(token: string): TokenInfo | null;
  /** Runs `PRAGMA integrity_check`; "ok" when sound. */
  integrityCheck(): string;
  /** Closes the database. */
  close(): void;
}

const TOKEN_PREFIX = "dlb";
const TOKEN_SHAPE = /^dlb_([1-9][0-9]{0,15})_([A-Za-z0-9_-]{43})$/;

function sha256Bytes(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Opens (creating if needed) a store at `path` (`:memory:` for a throwaway one) and migrates it. */
export function openStore(path: string): Store {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  migrate(db);

  const st = {
    exists: db.prepare("SELECT 1 AS x FROM results WHERE id = ?"),
    insert: db.prepare(
      `INSERT INTO results (id, dataset_id, test_sha256, status, source, row_json, results_json, samples_json,
         sample_count, token_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    row: db.prepare(
      `SELECT r.id, r.row_json, r.created_at, r.hidden, t.name AS submitter
       FROM results r LEFT JOIN tokens t ON t.id = r.token_id WHERE r.id = ?`,
    ),
    results: db.prepare("SELECT results_json, samples_json FROM results WHERE id = ?"),
    ids: db.prepare("SELECT id FROM results WHERE hidden = 0 ORDER BY rowid"),
    idsOf: db.prepare("SELECT id FROM results WHERE hidden = 0 AND dataset_id = ? ORDER BY rowid"),
    datasets: db.prepare("SELECT DISTINCT dataset_id FROM results WHERE hidden = 0 ORDER BY dataset_id"),
    hide: db.prepare("UPDATE results SET hidden = ? WHERE id = ?"),
    fileLoaded: db.prepare("SELECT 1 AS x FROM loaded_files WHERE sha256 = ?"),
    markFile: db.prepare(
      "INSERT OR IGNORE INTO loaded_files (sha256, path, result_ids, loaded_at) VALUES (?, ?, ?, ?)",
    ),
    insertToken: db.prepare("INSERT INTO tokens (name, hash, admin, created_at) VALUES (?, '', ?, ?)"),
    setTokenHash: db.prepare("UPDATE tokens SET hash = ? WHERE id = ?"),
    token: db.prepare("SELECT id, name, hash, admin FROM tokens WHERE id = ?"),
    hasSamples: db.prepare("SELECT results_json IS NOT NULL AS s FROM results WHERE id = ?"),
    comparisons: db.prepare(
      "SELECT leader_id, result_id, n, mae_leader, mae_result, diff, ci_low, ci_high, p FROM comparisons",
    ),
    insertComparison: db.prepare(
      `INSERT INTO comparisons (leader_id, result_id, n, mae_leader, mae_result, diff, ci_low, ci_high, p)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    backbonesOf: db.prepare(
      "SELECT DISTINCT json_extract(row_json, '$.method.backbone') AS b FROM results WHERE dataset_id = ?",
    ),
    allDatasets: db.prepare("SELECT DISTINCT dataset_id FROM results ORDER BY dataset_id"),
  } satisfies Record<string, StatementSync>;

  let version = 0;
  // Rows are immutable apart from `hidden`, so parsed rows can be kept; setHidden updates the copy.
  const rowCache = new Map<string, ResultRow>();
  const resultsCache = new Map<string, Results>();
  const samplesCache = new Map<string, boolean>();
  const dummyHash = sha256Bytes("no such token");
  // Stored comparisons by `leaderId|resultId`, read once at open; a transaction's new ones wait in
  // `pending` and join on commit.
  const comparisons = new Map<string, RegionComparison>();
  const pending = new Map<string, RegionComparison>();
  // Comparisons computed ahead of a write by prepareComparisons, used (and dropped) by the write.
  const ahead = new Map<string, RegionComparison>();
  // Ids inserted by the open transaction: forgotten by the caches if it rolls back.
  const inserted: string[] = [];

  function transaction<T>(fn: () => T): T {
    db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      db.exec("COMMIT");
      version++;
      for (const [k, v] of pending) comparisons.set(k, v);
      return out;
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      for (const id of inserted) {
        rowCache.delete(id);
        resultsCache.delete(id);
        samplesCache.delete(id);
      }
      throw err;
    } finally {
      pending.clear();
      ahead.clear();
      inserted.length = 0;
    }
  }

  function comparison(leaderId: string, id: string): RegionComparison | null {
    const key = `${leaderId}|${id}`;
    return comparisons.get(key) ?? pending.get(key) ?? null;
  }

  function hasSamples(id: string): boolean {
    let has = samplesCache.get(id);
    if (has === undefined) {
      const r = st.hasSamples.get(id) as { s: number } | undefined;
      if (!r) return false;
      has = r.s !== 0;
      samplesCache.set(id, has);
    }
    return has;
  }

  function results(id: string): Results | null {
    const cached = resultsCache.get(id);
    if (cached) return cached;
    const r = st.results.get(id) as
      | { results_json: string | null; samples_json: string | null }
      | undefined;
    if (!r || r.results_json === null || r.samples_json === null) return null;
    const full: Results = {
      ...JSON.parse(r.results_json),
      samples: JSON.parse(r.samples_json) as SampleRecord[],
    };
    resultsCache.set(id, full);
    return full;
  }

  function rows(datasetId?: string): ResultRow[] {
    const ids = (datasetId === undefined ? st.ids.all() : st.idsOf.all(datasetId)) as { id: string }[];
    return ids.map(({ id }) => row(id)!);
  }

  /**
   * Computes and stores, inside the open transaction, the comparisons that the ranks of these tables
   * (dataset id → backbones) lack: the new results against their leader, or, when the leader changed,
   * every ranked result against the new one. Returns how many were computed.
   */
  function storeComparisons(tables: ReadonlyMap<string, ReadonlySet<string>>): number {
    let computed = 0;
    for (const [datasetId, backbones] of tables) {
      const visible = rows(datasetId);
      for (const backbone of backbones) {
        const plan = planTable(visible.filter((r) => r.method.backbone === backbone), hasSamples);
        for (const id of missingComparisons(plan, comparison)) {
          const leaderId = plan.leader!.id;
          const key = `${leaderId}|${id}`;
          const c = ahead.get(key) ?? compareWithLeader(results(leaderId)!, results(id)!);
          st.insertComparison.run(
            leaderId,
            id,
            c.n,
            c.maeA,
            c.maeB,
            c.diff,
            c.ci?.[0] ?? null,
            c.ci?.[1] ?? null,
            c.p,
          );
          pending.set(key, c);
          computed++;
        }
      }
    }
    return computed;
  }

  function row(id: string): ResultRow | null {
    const cached = rowCache.get(id);
    if (cached) return cached;
    const r = st.row.get(id) as
      | { id: string; row_json: string; created_at: string; hidden: number; submitter: string | null }
      | undefined;
    if (!r) return null;
    const parsed: ResultRow = {
      ...JSON.parse(r.row_json),
      createdAt: r.created_at,
      hidden: r.hidden !== 0,
      submitter: r.submitter,
    };
    rowCache.set(id, parsed);
    return parsed;
  }

  for (
    const r of st.comparisons.all() as {
      leader_id: string;
      result_id: string;
      n: number;
      mae_leader: number | null;
      mae_result: number | null;
      diff: number | null;
      ci_low: number | null;
      ci_high: number | null;
      p: number | null;
    }[]
  ) {
    comparisons.set(`${r.leader_id}|${r.result_id}`, {
      n: r.n,
      maeA: r.mae_leader,
      maeB: r.mae_result,
      diff: r.diff,
      ci: r.ci_low === null || r.ci_high === null ? null : [r.ci_low, r.ci_high],
      p: r.p,
    });
  }
  // A store written before comparisons were stored (or by an older dirbench) gets them now, once.
  const everyTable = new Map<string, Set<string>>();
  for (const { dataset_id } of st.allDatasets.all() as { dataset_id: string }[]) {
    const backbones = (st.backbonesOf.all(dataset_id) as { b: string }[]).map((r) => r.b);
    everyTable.set(dataset_id, new Set(backbones));
  }
  const lacking = [...everyTable].some(([datasetId, backbones]) => {
    const visible = rows(datasetId);
    return [...backbones].some((backbone) => {
      const plan = planTable(visible.filter((r) => r.method.backbone === backbone), hasSamples);
      return plan.compared.some((r) => comparison(plan.leader!.id, r.id) === null);
    });
  });
  if (lacking) transaction(() => storeComparisons(everyTable));

  return {
    version: () => version,
    async prepareComparisons(list) {
      const fresh = list.filter((r) => r.results !== null && !st.exists.get(r.row.id));
      const byId = new Map(fresh.map((r) => [r.row.id, r.results!]));
      const load = (id: string) => byId.get(id) ?? results(id);
      const has = (id: string) => byId.has(id) || hasSamples(id);
      let sinceYield = 0;
      for (const key of new Set(fresh.map((r) => JSON.stringify([r.row.datasetId, r.row.method.backbone])))) {
        const [datasetId, backbone] = JSON.parse(key) as [string, string];
        const table = [
          ...rows(datasetId),
          ...fresh.filter((r) => r.row.datasetId === datasetId).map((r) => ({
            ...r.row,
            createdAt: "",
            hidden: false,
            submitter: null,
          })),
        ].filter((r) => r.method.backbone === backbone);
        const plan = planTable(table, has);
        for (const id of missingComparisons(plan, comparison)) {
          const leaderId = plan.leader!.id;
          if (ahead.has(`${leaderId}|${id}`)) continue;
          ahead.set(`${leaderId}|${id}`, compareWithLeader(load(leaderId)!, load(id)!));
          if (++sinceYield % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
        }
      }
    },
    insertResults(results, options = {}) {
      return transaction(() => {
        const now = new Date().toISOString();
        const tables = new Map<string, Set<string>>();
        const out = results.map(({ row: r, results: full }) => {
          if (st.exists.get(r.id)) return { id: r.id, created: false };
          inserted.push(r.id);
          const backbones = tables.get(r.datasetId) ?? new Set();
          tables.set(r.datasetId, backbones.add(r.method.backbone));
          let resultsJson: string | null = null, samplesJson: string | null = null;
          if (full) {
            const { samples, ...rest } = full;
            resultsJson = JSON.stringify(rest);
            samplesJson = JSON.stringify(samples);
          }
          st.insert.run(
            r.id,
            r.datasetId,
            r.testSha256,
            r.status,
            r.source,
            JSON.stringify(r),
            resultsJson,
            samplesJson,
            full?.samples.length ?? 0,
            options.tokenId ?? null,
            now,
          );
          return { id: r.id, created: true };
        });
        if (options.file) {
          st.markFile.run(options.file.sha256, options.file.path, JSON.stringify(out.map((o) => o.id)), now);
        }
        storeComparisons(tables);
        return out;
      });
    },
    row,
    results,
    hasSamples,
    comparison,
    rows,
    datasetIds: () => (st.datasets.all() as { dataset_id: string }[]).map((r) => r.dataset_id),
    setHidden(id, hidden) {
      const changed = transaction(() => {
        const changed = Number(st.hide.run(hidden ? 1 : 0, id).changes) > 0;
        const r = row(id);
        // Hiding the leader (or unhiding a better result) changes who leads the table.
        if (changed && r) storeComparisons(new Map([[r.datasetId, new Set([r.method.backbone])]]));
        return changed;
      });
      const cached = rowCache.get(id);
      if (cached) rowCache.set(id, { ...cached, hidden });
      return changed;
    },
    fileLoaded: (sha256) => st.fileLoaded.get(sha256) !== undefined,
    createToken(name, admin = false) {
      const secret = randomBytes(32).toString("base64url");
      const id = transaction(() => {
        const id = Number(st.insertToken.run(name, admin ? 1 : 0, new Date().toISOString()).lastInsertRowid);
        st.setTokenHash.run(sha256Bytes(secret).toString("hex"), id);
        return id;
      });
      return `${TOKEN_PREFIX}_${id}_${secret}`;
    },
    verifyToken(token) {
      const m = TOKEN_SHAPE.exec(token);
      const given = sha256Bytes(m ? m[2] : token);
      const r = m
        ? st.token.get(Number(m[1])) as { id: number; name: string; hash: string; admin: number } | undefined
        : undefined;
      // Compare against a dummy hash when the row is missing, so timing does not reveal which ids exist.
      const stored = r && r.hash.length === 64 ? Buffer.from(r.hash, "hex") : dummyHash;
      const ok = timingSafeEqual(given, stored) && r !== undefined;
      return ok ? { id: r.id, name: r.name, admin: r.admin !== 0 } : null;
    },
    integrityCheck() {
      const r = db.prepare("PRAGMA integrity_check").get() as Record<string, string>;
      return Object.values(r)[0];
    },
    close: () => db.close(),
  };
}

function migrate(db: DatabaseSync): void {
  const current = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the store's schema version ${current} is newer than this dirbench knows (${MIGRATIONS.length})`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[v]);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  }
}
