/**
 * The API and pages through `app.request`: submissions (every refusal, auth, rate limit, duplicates),
 * hiding, escaping and headers, downloads, ranks, results files and reported numbers, and the export.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { withTempDir } from "../tasks/_testing.ts";
import { testApp, toyBody, toyPredictions } from "./_testing.ts";
import { CSP } from "./app.ts";
import { exportSite } from "./export.ts";
import { loadResultsDir } from "./ingest.ts";
import { createApp } from "./app.ts";
import { TEST_PROVENANCE } from "./_testing.ts";

/** Asserts a JSON refusal: the status, an error naming `part`, no stack trace. */
async function assertError(res: Response, status: number, part: string | RegExp): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body), ["error"], text);
  if (typeof part === "string") {
    assert.ok(body.error.includes(part), `expected ${JSON.stringify(part)} in ${text}`);
  } else assert.match(body.error, part);
  assert.doesNotMatch(text, /\bat .*\.ts:\d+/, "stack trace in the answer");
}

Deno.test("submissions: accepted, scored by the scorer, duplicates answer with the existing id", async () => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const t = await testApp(dir);
    const res = await t.submit(toyBody("alpha", toyPredictions(2)));
    assert.equal(res.status, 201);
    const body = await res.json();
    assert.match(body.id, /^[0-9a-f]{32}$/);
    assert.equal(body.metrics.all.mae, 2);
    assert.equal(body.metrics.all.n, 12);
    assert.ok(body.metrics.bins.length > 0 && body.metrics.bootstrap.resamples === 1000);
    const version = t.store.version();

    const again = await t.submit(toyBody("alpha", toyPredictions(2)));
    assert.equal(again.status, 200);
    const dup = await again.json();
    assert.equal(dup.id, body.id);
    assert.equal(dup.duplicate, true);
    assert.equal(t.store.rows().length, 1);
    // Same predictions under another method name are another result.
    const other = await t.submit(toyBody("beta", toyPredictions(2)));
    assert.equal(other.status, 201);
    assert.notEqual((await other.json()).id, body.id);
    assert.ok(t.store.version() > version);

    const row = t.store.row(body.id)!;
    assert.equal(row.status, "verified");
    assert.equal(row.submitter, "alice");
    assert.equal(t.store.results(body.id)!.samples.length, 12);
    t.store.close();
  });
});

Deno.test("submissions: every bad input is a 4xx JSON error and writes nothing", async (t) => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const app = await testApp(dir, { maxBodyBytes: 20_000, ratePerWindow: 1000 });
    const version = app.store.version();
    const good = toyPredictions(1);
    const raw = (preds: string) => `{"dataset":"toy-dir","method":{"name":"m"},"predictions":[${preds}]}`;
    const cases: [string, unknown, number, string][] = [
      ["malformed JSON", "{not json", 400, "not valid JSON"],
      ["not an object", [1, 2], 400, "must be a JSON object"],
      ["unknown field", { ...toyBody(), extra: 1 }, 400, "extra is not a known field"],
      ["unknown dataset", { ...toyBody(), dataset: "nope" }, 404, `unknown dataset "nope"`],
      ["missing method", { dataset: "toy-dir", predictions: good }, 400, "method must be an object"],
      ["missing name", toyBody("", good), 400, "method.name is required"],
      [
        "long name",
        toyBody("x".repeat(101), good),
        400,
        "method.name is 101 characters long; the limit is 100",
      ],
      ["long description", toyBody("m", good, { description: "d".repeat(2001) }), 400, "method.description"],
      ["javascript URL", toyBody("m", good, { paperUrl: "javascript:alert(1)" }), 400, "method.paperUrl"],
      [
        "bad extraData",
        toyBody("m", good, { extraData: "yes" }),
        400,
        "method.extraData must be true or false",
      ],
      [
        "config not an object",
        toyBody("m", good, { config: [1] }),
        400,
        "method.config must be a JSON object",
      ],
      ["unknown method field", toyBody("m", good, { score: 1 }), 400, "method.score is not a known field"],
      [
        "predictions not an array",
        toyBody("m", {} as unknown as unknown[]),
        400,
        "predictions must be an array",
      ],
      ["missing test ids", toyBody("m", good.slice(0, 10)), 400, "2 of 12 test ids have no prediction"],
      [
        "repeated id",
        toyBody("m", [...good.slice(0, 11), good[0]]),
        400,
        `predictions[11]: duplicate id "t0"`,
      ],
      [
        "invented id",
        toyBody("m", [...good.slice(0, 11), { id: "zz", value: 1 }]),
        400,
        `"zz" is not in the test set`,
      ],
      [
        "too many",
        toyBody("m", [...good, { id: "zz", value: 1 }]),
        400,
        "13 entries but toy-dir has 12 test ids",
      ],
      ["non-finite value", raw(`{"id":"t0","value":1e999}`), 400, 'predictions[0]: "value" must be finite'],
      ["string value", toyBody("m", [{ id: "t0", value: "NaN" }]), 400, `"value" must be a number`],
      ["output and value", toyBody("m", [{ id: "t0", value: 1, output: "1" }]), 400, "not both"],
      ["neither", toyBody("m", [{ id: "t0" }]), 400, 'missing "output"'],
      ["unknown prediction field", toyBody("m", [{ id: "t0", value: 1, p: 2 }]), 400, "predictions[0].p"],
      ["long output", toyBody("m", [{ id: "t0", output: "o".repeat(10_001) }]), 400, "predictions[0].output"],
      ["long id", toyBody("m", [{ id: "i".repeat(201), value: 1 }]), 400, "predictions[0].id"],
      [
        "body too large",
        toyBody("m", [{ id: "t0", output: "o".repeat(25_000) }]),
        413,
        "limit of 20000 bytes",
      ],
    ];
    for (const [name, body, status, part] of cases) {
      await t.step(name, async () => {
        await assertError(await app.submit(body), status, part);
      });
    }
    await t.step("wrong content type", async () => {
      await assertError(
        await app.submit(JSON.stringify(toyBody()), undefined, { "content-type": "text/plain" }),
        415,
        "application/json",
      );
    });
    assert.equal(app.store.rows().length, 0);
    assert.equal(app.store.version(), version, "a refused request wrote something");
    app.store.close();
  });
});

Deno.test("submissions: authentication and the per-token rate limit", async (t) => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const app = await testApp(dir, { ratePerWindow: 2 });
    await t.step("no, malformed, unknown or tampered tokens are 401", async () => {
      const res = await app.submit(toyBody(), null);
      assert.equal(res.headers.get("www-authenticate")?.startsWith("Bearer"), true);
      await assertError(res, 401, "Authorization: Bearer");
      await assertError(await app.submit(toyBody(), "not-a-token"), 401, "not valid");
      await assertError(await app.submit(toyBody(), "dlb_999_" + "a".repeat(43)), 401, "not valid");
      const tampered = app.token.slice(0, -1) + (app.token.endsWith("A") ? "B" : "A");
      await assertError(await app.submit(toyBody(), tampered), 401, "not valid");
      await assertError(
        await app.submit(toyBody(), app.token.replace(/^dlb_1_/, "dlb_2_")),
        401,
        "not valid",
      );
    });
    await t.step("the third submission within the window is 429", async () => {
      assert.equal((await app.submit(toyBody("a", toyPredictions(1)))).status, 201);
      assert.equal((await app.submit(toyBody("b", toyPredictions(2)))).status, 201);
      const res = await app.submit(toyBody("c", toyPredictions(3)));
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      await assertError(res, 429, "rate limit");
      // Another token has its own budget.
      assert.equal((await app.submit(toyBody("c", toyPredictions(3)), app.admin)).status, 201);
    });
    assert.equal(app.store.rows().length, 3);
    app.store.close();
  });
});

Deno.test("submissions: self-reported metrics are ignored and flagged when they disagree", async () => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const app = await testApp(dir);
    const res = await app.submit({
      ...toyBody("m", toyPredictions(2)),
      metrics: { all: { mae: 0.5 }, few: { mae: 2 } },
    });
    assert.equal(res.status, 201);
    const body = await res.json();
    assert.equal(body.metrics.all.mae, 2);
    assert.deepEqual(body.flags, ["self-reported all.mae 0.5 disagrees with the re-scored 2"]);
    const page = await (await app.app.request(`/results/${body.id}/`)).text();
    assert.ok(page.includes("self-reported all.mae 0.5 disagrees"));
    app.store.close();
  });
});

Deno.test("hiding: admin only; a hidden result disappears from pages and lists", async () => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const app = await testApp(dir);
    const { id } = await (await app.submit(toyBody("m", toyPredictions(2)))).json();
    const hide = (token: string, path = `/api/submissions/${id}/hide`) =>
      app.app.request(path, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    await assertError(await hide(app.token), 403, "admin");
    await assertError(await hide(app.admin, "/api/submissions/nope/hide"), 404, "no stored result");
    assert.equal((await app.app.request(`/results/${id}/`)).status, 200);
    const res = await hide(app.admin);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id, hidden: true });
    assert.equal((await app.app.request(`/results/${id}/`)).status, 404);
    const list = await (await app.app.request("/api/datasets/toy-dir/results")).json();
    assert.deepEqual(list.results, []);
    app.store.close();
  });
});

Deno.test("pages: escaped text, strict CSP, downloads, plots and significance ranks", async (t) => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const app = await testApp(dir);
    const nasty = `<script>alert("x")</script>&`;
    const ids: string[] = [];
    // The twin's errors are 1.35 and 0.7 in turn: a slightly higher MAE, but not significantly.
    const twin = toyPredictions(1).map((p, i) => ({ ...p, value: p.value + (i % 2 ? 0.35 : -0.3) }));
    const sets = [[nasty, toyPredictions(1)], ["twin", twin], ["worse", toyPredictions(6, 1)]] as const;
    for (const [name, predictions] of sets) {
      const res = await app.submit(toyBody(name, [...predictions], { description: nasty }));
      ids.push((await res.json()).id);
    }
    const get = (path: string) => app.app.request(path);

    await t.step("every response carries the CSP; pages escape text and have no inline code", async () => {
      for (
        const path of [
          "/",
          "/submit/",
          "/datasets/toy-dir/",
          "/datasets/toy-dir/all/",
          `/results/${ids[0]}/`,
          `/compare/${ids[0]}/${ids[2]}/`,
        ]
      ) {
        const res = await get(path);
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get("content-security-policy"), CSP);
        assert.equal(res.headers.get("x-content-type-options"), "nosniff");
        const html = await res.text();
        assert.ok(!html.includes("<script>alert"), `unescaped text on ${path}`);
        assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)/, `inline script on ${path}`);
        assert.doesNotMatch(html, /<style|\sstyle=/, `inline style on ${path}`);
      }
      assert.ok((await (await get("/datasets/toy-dir/")).text()).includes("&lt;script&gt;alert"));
    });

    await t.step(
      "ranks: a twin of the leader shares first place, a clearly worse result does not",
      async () => {
        const list = await (await get("/api/datasets/toy-dir/results")).json();
        const rank = Object.fromEntries(
          list.results.map((r: { id: string; rank: number }) => [r.id, r.rank]),
        );
        assert.equal(rank[ids[0]], 1);
        assert.equal(rank[ids[1]], 1);
        assert.equal(rank[ids[2]], 3);
        const r0 = list.results.find((r: { id: string }) => r.id === ids[0]);
        assert.deepEqual(Object.keys(r0).slice(0, 5), ["id", "method", "backbone", "family", "status"]);
        assert.equal(r0.metrics.all.mae, 1);
      },
    );

    await t.step("downloads: JSON and CSV of the table, the result and the comparison", async () => {
      const csv = await (await get("/datasets/toy-dir/results.csv")).text();
      assert.equal(csv.trim().split("\r\n").length, 4);
      assert.ok(csv.startsWith("id,rank,method,backbone"));
      assert.ok(csv.includes(`"'<script>`) || csv.includes(`<script>alert(""x"")`), csv);
      const json = await (await get(`/results/${ids[2]}/results.json`)).json();
      assert.equal(json.format, "dirbench.results/1");
      assert.equal(json.samples.length, 12);
      const samples = await (await get(`/results/${ids[2]}/results.csv`)).text();
      assert.equal(samples.trim().split("\r\n").length, 13);
      const cmp = await (await get(`/compare/${ids[0]}/${ids[2]}/compare.json`)).json();
      assert.equal(cmp.format, "dirbench.compare/1");
      assert.ok(cmp.regions.all.diff > 0);
      assert.equal((await get(`/compare/${ids[0]}/${ids[2]}/compare.csv`)).status, 200);
    });

    await t.step("plots are SVG computed from the stored predictions", async () => {
      const page = await (await get(`/results/${ids[2]}/`)).text();
      assert.ok(page.includes(`gain/${ids[0]}.svg`), "the default baseline is the leader");
      for (const file of ["abs-error.svg", "bin-mae.svg", `gain/${ids[0]}.svg`]) {
        const res = await get(`/results/${ids[2]}/${file}`);
        assert.equal(res.status, 200, file);
        assert.equal(res.headers.get("content-type"), "image/svg+xml");
        assert.match(await res.text(), /<svg[\s>]/);
      }
      const chosen = await (await get(`/results/${ids[2]}/?baseline=${ids[1]}`)).text();
      assert.ok(chosen.includes(`gain/${ids[1]}.svg`));
      assert.equal((await get(`/compare/${ids[0]}/${ids[2]}/gain.svg`)).status, 200);
    });

    await t.step("unknown things are 404 and page URLs without a slash redirect", async () => {
      assert.equal((await get("/datasets/nope/")).status, 404);
      assert.equal((await get("/results/nope/")).status, 404);
      await assertError(await get("/api/datasets/nope/results"), 404, "not found");
      const res = await get("/datasets/toy-dir");
      assert.equal(res.status, 301);
      assert.ok(res.headers.get("location")!.endsWith("/datasets/toy-dir/"));
    });
    app.store.close();
  });
});

Deno.test("results files and reported numbers are loaded once; the export writes the same pages", async () => {
  await withTempDir("dirbench-lb-", async (dir) => {
    const app = await testApp(dir);
    const { id } = await (await app.submit(toyBody("served", toyPredictions(2)))).json();
    const file = (await app.app.request(`/results/${id}/results.json`)).json();
    const { leaderboard: _lb, ...results } = await file;
    results.method = { name: "from-file", config: { backbone: "toy-backbone", family: "baseline" } };
    const resultsDir = join(dir, "results");
    await Deno.mkdir(join(resultsDir, "bench"), { recursive: true });
    await Deno.writeTextFile(join(resultsDir, "a.json"), JSON.stringify(results));
    await Deno.writeTextFile(join(resultsDir, "bench", "log.json"), JSON.stringify({ kernels: [] }));
    await Deno.writeTextFile(
      join(resultsDir, "paper.json"),
      JSON.stringify({
        format: "dirbench.reported/1",
        dataset: "toy-dir",
        source: "Some et al. 2025, Table 2",
        entries: [{
          method: { name: "PaperNet", backbone: "toy-backbone", paperUrl: "https://example.org/p" },
          metrics: { all: { mae: 0.5, gm: 0.3 }, few: { mae: 0.9 } },
        }],
      }),
    );
    const datasets = new Map([["toy-dir", app.dataset]]);
    const report = await loadResultsDir(resultsDir, app.store, datasets);
    assert.deepEqual(report.loaded.map((l) => [l.file, l.created]), [["a.json", 1], ["paper.json", 1]]);
    assert.deepEqual(report.skipped.map((s) => s.file), [join("bench", "log.json")]);
    const again = await loadResultsDir(resultsDir, app.store, datasets);
    assert.deepEqual(again.loaded, []);

    const rows = app.store.rows("toy-dir");
    assert.deepEqual(rows.map((r) => [r.method.name, r.status]), [
      ["served", "verified"],
      ["from-file", "verified"],
      ["PaperNet", "reported"],
    ]);
    const page = await (await app.app.request("/datasets/toy-dir/")).text();
    assert.ok(page.includes(`class="badge reported"`));
    const list = await (await app.app.request("/api/datasets/toy-dir/results")).json();
    assert.equal(list.results.find((r: { method: string }) => r.method === "PaperNet").rank, null);

    const out = join(dir, "site");
    const fresh = createApp({ store: app.store, datasets, provenance: TEST_PROVENANCE });
    const n = await exportSite(fresh, app.store, datasets, out);
    assert.ok(n > 10);
    const exported = await Deno.readTextFile(join(out, "datasets", "toy-dir", "index.html"));
    assert.equal(exported, page);
    for (
      const f of ["index.html", "submit/index.html", "static/leaderboard.js", `results/${id}/bin-mae.svg`]
    ) {
      assert.ok((await Deno.stat(join(out, f))).isFile, f);
    }
    await assert.rejects(() => exportSite(fresh, app.store, datasets, out), /not empty/);
    app.store.close();
  });
});
