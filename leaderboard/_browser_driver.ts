/**
 * The browser half of `browser_test.ts`, run by it in a subprocess with `--allow-all` (playwright-core probes
 * `/proc/sys/fs/binfmt_misc` when it loads, which Deno grants only with all permissions): drives Debian's
 * chromium against a running leaderboard whose toy dataset holds the results "best", "middle" and "worst".
 *
 * `deno run -A leaderboard/_browser_driver.ts <base url> <chromium path>`; exits 0 when every check passes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";

/** Runs the checks against the leaderboard at `base` with the chromium at `executablePath`. */
export async function driveBrowser(base: string, executablePath: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
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
  }
}

if (import.meta.main) await driveBrowser(Deno.args[0], Deno.args[1]);
