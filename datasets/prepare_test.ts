import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { InputError } from "../bench/core/errors.ts";
import type { AdapterOutput, DatasetAdapter, RawSample } from "./adapter.ts";
import { readPreparedDataset } from "./format.ts";
import { prepareDataset } from "./prepare.ts";

const svg = (label: number) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="${label}" height="20" fill="#08c"/></svg>`;

/** A toy adapter: 150 training rows at label 5 (many), 30 at 7 (medium), 3 at 9 (few); 6 test rows. */
function toyAdapter(extraTest: RawSample[] = [], fail?: Error): DatasetAdapter {
  const rows = (split: string, label: number, n: number): RawSample[] =>
    Array.from(
      { length: n },
      (_, i) => ({ id: `${split}-${label}-${i}`, label, image: { svg: svg(label) } }),
    );
  return {
    id: "toy-dir",
    title: "Toy",
    task: "age",
    label: { min: 0, max: 10, unit: "years" },
    source: "test",
    licence: "test",
    defaultSeed: 0,
    load(): Promise<AdapterOutput> {
      if (fail) return Promise.reject(fail);
      return Promise.resolve({
        train: [...rows("tr", 5, 150), ...rows("tr", 7, 30), ...rows("tr", 9, 3)],
        test: [...rows("te", 5, 2), ...rows("te", 7, 2), ...rows("te", 9, 2), ...extraTest],
        dropped: [{ id: "te-missing", split: "test", reason: "image missing from the archive" }],
        protocol: ["toy protocol line"],
        inputs: [{ name: "toy.csv", sha256: "0".repeat(64) }],
      });
    },
  };
}

const options = (out: string, cache: string) => ({
  out,
  quiet: true,
  images: { maxSide: 32 },
  load: { cache, sizes: {}, log: () => {} },
});

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "dirbench-prepare-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("prepareDataset writes a complete, valid dataset with dialogue, regions, card and figures", async () => {
  await withTempDir(async (dir) => {
    // A real JPEG with EXIF orientation 6 (rotate 90°): 60×20 stored, 20×60 once oriented.
    const rotated = await sharp({ create: { width: 60, height: 20, channels: 3, background: "#c00" } })
      .jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const photo = join(dir, "photo.jpg");
    await Deno.writeFile(photo, rotated);
    const out = join(dir, "out");
    const result = await prepareDataset(
      toyAdapter([
        { id: "te-photo", label: 7, image: { path: photo } },
        { id: "te-corrupt", label: 9, image: { bytes: new TextEncoder().encode("not an image") } },
      ]),
      options(out, dir),
    );
    const ds = await readPreparedDataset(out);
    assert.equal(ds.train.samples.length, 183);
    assert.equal(ds.test.samples.length, 7); // 6 + the photo; the corrupt one is dropped
    assert.deepEqual(result.dropped.map((d) => d.id).sort(), ["te-corrupt", "te-missing"]);
    assert.match(result.dropped.find((d) => d.id === "te-corrupt")!.reason, /^unreadable image/);
    const photoSample = ds.test.samples.find((s) => s.id === "te-photo")!;
    assert.deepEqual([photoSample.width, photoSample.height], [11, 32]); // oriented, longest side 32
    const meta = await sharp(join(out, photoSample.image!)).metadata();
    assert.deepEqual([meta.format, meta.channels, meta.width, meta.height], ["jpeg", 3, 11, 32]);
    assert.deepEqual(ds.test.samples[0].messages, [
      {
        role: "user",
        content: [{ type: "image" }, {
          type: "text",
          text: "Age estimation: How old is the person in the image? Please answer with only a number." +
            " Please output the final answer in <answer></answer> tags.",
        }],
      },
      { role: "assistant", content: [{ type: "text", text: "<answer>5</answer>" }] },
    ]);
    assert.deepEqual(ds.manifest.regions, {
      train: { bins: { many: 1, medium: 1, few: 1 }, samples: { many: 150, medium: 30, few: 3 } },
      test: { bins: { many: 1, medium: 1, few: 1 }, samples: { many: 2, medium: 3, few: 2 } },
    });
    assert.equal(ds.manifest.dropped, 2);
    const card = await Deno.readTextFile(join(out, "card.md"));
    assert.match(card, /\| many \| 1 \| 150 \| 1 \| 2 \|/);
    assert.match(card, /- toy protocol line/);
    assert.match(card, /\| test: image missing from the archive \| 1 \|/);
    assert.match(await Deno.readTextFile(join(out, "train-histogram.svg")), /^<svg/);
    assert.equal(JSON.parse(await Deno.readTextFile(join(out, "dropped.json"))).length, 2);
    // Nothing but the dataset and the photo in the parent: no temporary directories left behind.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["out", "photo.jpg"]);
  });
});

Deno.test("prepareDataset refuses an existing --out, and --force replaces it whole", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "out");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, "keep.txt"), "mine");
    await assert.rejects(
      prepareDataset(toyAdapter(), options(out, dir)),
      (e) => e instanceof InputError && /already exists/.test(e.message),
    );
    assert.equal(await Deno.readTextFile(join(out, "keep.txt")), "mine");
    await prepareDataset(toyAdapter(), { ...options(out, dir), force: true });
    assert.ok(!(await exists(join(out, "keep.txt"))));
    assert.equal((await readPreparedDataset(out)).test.samples.length, 6);
  });
});

Deno.test("a failed prepare leaves no directory that looks complete", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "out");
    await assert.rejects(prepareDataset(toyAdapter([], new InputError("hash mismatch")), options(out, dir)));
    // A row with a label outside the range fails after encoding started: still nothing left.
    await assert.rejects(
      prepareDataset(toyAdapter([{ id: "bad", label: 99, image: { svg: svg(1) } }]), options(out, dir)),
      /outside \[0, 10\]/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

async function exists(path: string) {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
