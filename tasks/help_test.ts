import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, runScript } from "./_testing.ts";

Deno.test("every deno task script answers --help with its usage and exit 0", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  const scripts = new Set<string>();
  for (const command of Object.values(config.tasks) as string[]) {
    const script = command.match(/^deno run .*?(\S+\.ts)\b/)?.[1];
    if (script) scripts.add(script);
  }
  assert.ok(scripts.size >= 15, `found ${scripts.size} task scripts`);
  for (const script of scripts) {
    const run = await runScript(join(REPO_ROOT, script), ["--help"], ["--allow-all"]);
    assert.equal(run.code, 0, `${script} --help: exit ${run.code}\n${run.stderr}`);
    assert.match(run.stdout, /^usage: deno task /m, `${script} --help printed no usage`);
  }
});
