import assert from "node:assert/strict";
import { formatDuration, progress, progressLine } from "./progress.ts";

Deno.test("progressLine shows percentage, rate and ETA", () => {
  const line = progressLine("prepare", 50, 200, 10_000, "images");
  assert.match(line, /25\.0% 50\/200 images/);
  assert.match(line, /5\.0 images\/s/);
  assert.match(line, /ETA 30s/);
  assert.match(progressLine("fetch", 7, null, 1000, "MB"), /^fetch 7 MB · 7\.0 MB\/s$/);
});

Deno.test("formatDuration", () => {
  assert.equal(formatDuration(12.4), "12s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(Infinity), "?");
});

Deno.test("progress in a log prints rarely, and always a final line", () => {
  let t = 0;
  const lines: string[] = [];
  const p = progress("x", 1000, { interactive: false, write: (s) => lines.push(s), now: () => t });
  for (let i = 0; i < 1000; i++) {
    t += 10; // 10 s in all: one line at 5 s, one at 10 s, plus the final one
    p.tick();
  }
  p.done();
  assert.equal(lines.length, 3);
  assert.match(lines.at(-1)!, /100\.0% 1000\/1000 items/);
});
