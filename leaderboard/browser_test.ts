/**
 * The pages in a real browser: Debian's chromium driven by playwright-core opens a dataset page, sorts a
 * column, filters, opens a result and finds its plot, with no CSP violation or script error on the way.
 * The browser is driven from a subprocess (`_browser_driver.ts`). Without chromium the test fails under CI (`CI` set) and is skipped with a message elsewhere.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { exists, withTempDir } from "../tasks/_testing.ts";
import { testApp, toyBody, toyPredictions } from "./_testing.ts";

const CHROMIUM = "/usr/bin/chromium";
const DRIVER = fileURLToPath(new URL("./_browser_driver.ts", import.meta.url));
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
      const base = `http://127.0.0.1:${server.addr.port}`;
      try {
        const run = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", DRIVER, base, CHROMIUM],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        assert.equal(run.code, 0, `${dec.decode(run.stdout)}\n${dec.decode(run.stderr)}`);
      } finally {
        await server.shutdown();
        t.store.close();
      }
    });
  },
});
