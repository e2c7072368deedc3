/**
 * The pages in a real browser: Debian's chromium driven by playwright-core opens a dataset page, sorts a
 * column, filters, opens a result and finds its plot, with no CSP violation or script error on the way.
 * Without chromium the test fails under CI (`CI` set) and is skipped with a message elsewhere.
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { exists, withTempDir } from "../tasks/_testing.ts";
import { testApp, toyBody, toyPredictions } from "./_testing.ts";

const CHROMIUM = "/usr/bin/chromium";
const available = await exists(CHROMIUM);
const inCi = Boolean(Deno.env.get("CI"));
if (!available && !inCi) {
  console.warn(
    `browser_test: ${CHROMIUM} not found; skipping the browser test (apt-get install chromium to run it)`,
  );
}

Deno.test({
  name: "browser: sort a column on the dataset page, open a result and find its plot",
  ignore: !available && !inCi,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    assert.ok(available, `${CHROMIUM} is missing; .ci/run installs it (apt-get install chromium)`);
    await withTempDir("dirbench-lb-browser-", async (dir) => {
      const t = await testApp(dir);
      for (
        const [name, offset, family] of [["best", 1, "SFT"], ["middle", 3, "GRPO"], [
          "worst",
          8,
          "SFT",
        ]] as const
      ) {
        const res = await t.submit(toyBody(name, toyPredictions(offset, 0.5), { family }));
        assert.equal(res.status, 201);
      }
      const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, t.app.fetch);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(e.message));
        const base = `http://127.0.0.1:${server.addr.port}`;
        await page.goto(`${base}/datasets/toy-dir/`);

        const methods = () =>
          page.$$eval("section.backbone tbody tr td:nth-child(2) a", (as) => as.map((a) => a.textContent));
        assert.deepEqual(await methods(), ["best", "middle", "worst"]);
        // All / MAE is column 4; the first click sorts ascending, the second descending.
        const allMae = page.locator('th[data-region="all"][data-metric="mae"] button');
        await allMae.click();
        assert.deepEqual(await methods(), ["best", "middle", "worst"]);
        await allMae.click();
        assert.deepEqual(await methods(), ["worst", "middle", "best"]);
        assert.equal(
          await page.getAttribute('th[data-region="all"][data-metric="mae"]', "aria-sort"),
          "descending",
        );
        // The interval is on hover (the title of the cell).
        const title = await page.getAttribute("section.backbone tbody tr td:nth-child(5)", "title");
        assert.match(title ?? "", /^95% CI \[/);

        await page.selectOption('select[data-filter="family"]', "GRPO");
        const visible = await page.$$eval(
          "section.backbone tbody tr",
          (rows) => rows.filter((r) => !(r as unknown as { hidden: boolean }).hidden).length,
        );
        assert.equal(visible, 1);
        await page.selectOption('select[data-filter="family"]', "");

        await page.click("text=middle");
        await page.waitForURL(/\/results\/[0-9a-f]{32}\/$/);
        assert.equal(await page.textContent("h1 >> nth=0").then((s) => s?.includes("middle")), true);
        const plot = page.locator('img.plot[src="bin-mae.svg"]');
        await plot.waitFor();
        // No DOM types in this project's compiler options: the image as the fields used.
        type Img = { complete: boolean; naturalWidth: number; decode(): Promise<void> };
        const width = await plot.evaluate(async (el) => {
          const img = el as unknown as Img;
          if (!img.complete) await img.decode();
          return img.naturalWidth;
        });
        assert.ok(width > 0, "the plot did not load");
        assert.equal(await page.locator("img.plot").count(), 3, "abs-error, bin-mae and the gain figure");
        assert.deepEqual(problems, []);
      } finally {
        await browser.close();
        await server.shutdown();
        t.store.close();
      }
    });
  },
});
