/**
 * Ranks are computed when results are written: every write stores the paired comparisons its tables need
 * (in the same transaction), a new leader gets every comparison at once, hiding the leader hands the lead
 * on, a reopened store reads them back without computing, and reading ranks computes nothing.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { compareResults } from "../bench/score/compare.ts";
import { withTempDir } from "../tasks/_testing.ts";
import { testApp, toyBody, toyPredictions } from "./_testing.ts";
import { TOP_ROWS } from "./pages/dataset.tsx";
import { rankRows } from "./ranks.ts";
import { openStore } from "./store.ts";

function countComparisons(db: string): number {
  const raw = new DatabaseSync(db, { readOnly: true });
  try {
    return (raw.prepare("SELECT count(*) AS n FROM comparisons").get() as { n: number }).n;
  } finally {
    raw.close();
  }
}

Deno.test("ranks: comparisons are stored at write time and read back, never computed on reads", async () => {
  await withTempDir("dirbench-lb-ranks-", async (dir) => {
    const db = join(dir, "lb.db");
    const t = await testApp(dir, {}, db);
    const submit = async (name: string, offset: number, noise: number) => {
      const res = await t.submit(toyBody(name, toyPredictions(offset, noise)));
      assert.equal(res.status, 201);
      return (await res.json()).id as string;
    };
    const first = await submit("first", 2, 0.5);
    const second = await submit("second", 3, 0.5);
    // No page was requested: the comparison with the leader is there already.
    assert.ok(t.store.comparison(first, second));
    const third = await submit("third", 2.3, 0.4);
    assert.ok(t.store.comparison(first, third));
    // A new leader: every other result is compared with it in the same write.
    const best = await submit("best", 0.5, 0.2);
    for (const id of [first, second, third]) assert.ok(t.store.comparison(best, id), id);

    // The stored comparisons are exactly the paired bootstrap of `deno task compare`.
    const leader = t.store.results(best)!;
    for (const id of [first, second, third]) {
      assert.deepEqual(
        t.store.comparison(best, id),
        compareResults(leader, t.store.results(id)!).regions.all,
      );
    }
    const ranks = (await (await t.app.request("/api/datasets/toy-dir/results")).json()).results as {
      id: string;
      rank: number;
    }[];
    assert.equal(ranks[0].id, best);
    assert.equal(ranks[0].rank, 1);

    // Hiding the leader hands the lead to the next result, whose comparisons are stored by that write.
    const hide = await t.app.request(`/api/submissions/${best}/hide`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.admin}` },
    });
    assert.equal(hide.status, 200);
    const next = t.store.rows("toy-dir").reduce((a, b) => (a.regions.all.mae! <= b.regions.all.mae! ? a : b));
    for (const r of t.store.rows("toy-dir")) {
      if (r.id !== next.id) assert.ok(t.store.comparison(next.id, r.id), r.method.name);
    }
    const stored = countComparisons(db);
    t.store.close();

    // Reopening reads them back: no write, nothing computed, the same ranks.
    const store = openStore(db);
    try {
      assert.equal(store.version(), 0);
      assert.equal(countComparisons(db), stored);
      const visible = store.rows("toy-dir");
      const ranked = rankRows(visible, store.hasSamples, (l, id) => {
        const c = store.comparison(l, id);
        assert.ok(c, "a comparison is missing");
        return c;
      });
      assert.equal(ranked[0].row.id, next.id);
      assert.ok(ranked.every((r) => r.rank !== null));
    } finally {
      store.close();
    }

    // A store without them (written by an older dirbench) gets them once, when opened.
    const raw = new DatabaseSync(db);
    raw.exec("DELETE FROM comparisons");
    raw.close();
    const upgraded = openStore(db);
    try {
      assert.equal(upgraded.version(), 1);
      // The visible table: the leader and two results compared with it.
      assert.equal(countComparisons(db), 2);
    } finally {
      upgraded.close();
    }
  });
});

Deno.test("dataset page: the best TOP_ROWS of each table, every row on all/", async () => {
  await withTempDir("dirbench-lb-top-", async (dir) => {
    const t = await testApp(dir, { ratePerWindow: 1000 });
    try {
      const n = TOP_ROWS + 2;
      for (let k = 0; k < n; k++) {
        // Later submissions are better, so the lead changes hands many times.
        const res = await t.submit(toyBody(`m${k}`, toyPredictions(n - k, 0.5)));
        assert.equal(res.status, 201);
      }
      const rowsOf = (html: string) => html.match(/<tr data-family=/g)?.length ?? 0;
      const page = await (await t.app.request("/datasets/toy-dir/")).text();
      assert.equal(rowsOf(page), TOP_ROWS);
      assert.match(page, /href="all\/"/);
      const all = await (await t.app.request("/datasets/toy-dir/all/")).text();
      assert.equal(rowsOf(all), n);
      assert.match(all, /href="\.\.\/results\.json"/);
      const list = (await (await t.app.request("/api/datasets/toy-dir/results")).json()).results;
      assert.equal(list.length, n);
      assert.equal(list[0].method, `m${n - 1}`);
      assert.ok(list.every((r: { rank: number | null }) => r.rank !== null));
    } finally {
      t.store.close();
    }
  });
});
