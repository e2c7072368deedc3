import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { parseJsonl } from "../bench/core/jsonl.ts";
import { exportDataset } from "./export.ts";
import { prepareDataset } from "./prepare.ts";
import { syntheticDir } from "./synthetic.ts";

Deno.test("export writes TRL/ms-swift/GRPO rows whose images exist", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dirbench-export-" });
  try {
    const data = join(dir, "data");
    await prepareDataset(syntheticDir, {
      out: data,
      quiet: true,
      images: { maxSide: 32 },
      load: { cache: dir, sizes: { train: 20, test: 5 }, log: () => {} },
    });
    const prompt = "Dot counting: How many round dots are in the image? Please answer with only a number." +
      " Please output the final answer in <answer></answer> tags.";

    await exportDataset(data, { format: "hf", out: join(dir, "hf") });
    const hf = parseJsonl(await Deno.readTextFile(join(dir, "hf", "train.jsonl")), "hf").map((r) => r.value);
    assert.equal(hf.length, 20);
    const row = hf[0] as { messages: unknown; images: string[]; label: number };
    assert.deepEqual(row.messages, [
      { role: "user", content: [{ type: "image" }, { type: "text", text: prompt }] },
      { role: "assistant", content: [{ type: "text", text: `<answer>${row.label}</answer>` }] },
    ]);
    assert.ok(row.images[0].startsWith("/"));
    await Deno.stat(row.images[0]);

    await exportDataset(data, { format: "swift", out: join(dir, "swift"), relativePaths: true });
    const swift = parseJsonl(await Deno.readTextFile(join(dir, "swift", "test.jsonl")), "swift")[0].value as {
      messages: { role: string; content: string }[];
      images: string[];
    };
    assert.equal(swift.messages[0].content, `<image>${prompt}`);
    assert.ok(swift.images[0].startsWith("../data/images/"));
    await Deno.stat(resolve(dir, "swift", swift.images[0]));

    await exportDataset(data, { format: "grpo", out: join(dir, "grpo") });
    const grpo = parseJsonl(await Deno.readTextFile(join(dir, "grpo", "test.jsonl")), "grpo")[0].value as {
      prompt: unknown[];
      solution: string;
      label: number;
    };
    assert.equal(grpo.prompt.length, 1);
    assert.equal(grpo.solution, `<answer>${grpo.label}</answer>`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
