/**
 * Image throughput of `prepare`: `deno bench -A datasets/images_bench.ts`.
 *
 * Each case encodes 32 images through the same pool width `prepare` uses (4 at a time), so
 * images/s = 32 / (time per iteration). "camera JPEG" inputs are 1600×1200 photo-sized JPEGs with
 * Gaussian noise (harder to decode than real photos, so a conservative figure). Set
 * `DIRBENCH_BENCH_JPEGS` to a folder of real photographs to also time those.
 */

import sharp from "sharp";
import { DEFAULT_IMAGE_SETTINGS, encodeImage } from "./images.ts";
import { syntheticSvg } from "./synthetic.ts";

const BATCH = 32;
const POOL = 4;

async function pool<T>(items: readonly T[], fn: (item: T, index: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: POOL }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

const labels = Array.from({ length: BATCH }, (_, i) => (i * 37) % 101);
const cameraJpegs = await Promise.all(
  Array.from({ length: 4 }, (_, i) =>
    sharp({
      create: {
        width: 1600,
        height: 1200,
        channels: 3,
        background: "#888",
        noise: { type: "gaussian", mean: 120 + i, sigma: 30 },
      },
    }).jpeg({ quality: 92 }).toBuffer()),
);

Deno.bench({
  name: `synthetic-dir: generate SVG + rasterise + encode (${BATCH} images)`,
  group: "images",
  baseline: true,
  async fn() {
    await pool(
      labels,
      (label) => encodeImage({ svg: syntheticSvg(label, 0, `bench-${label}`) }, DEFAULT_IMAGE_SETTINGS),
    );
  },
});

Deno.bench({
  name: `camera JPEG 1600×1200 → 448 re-encode (${BATCH} images)`,
  group: "images",
  async fn() {
    await pool(
      labels,
      (_, i = 0) => encodeImage({ bytes: cameraJpegs[i % cameraJpegs.length] }, DEFAULT_IMAGE_SETTINGS),
    );
  },
});

Deno.bench({
  name: `synthetic-dir: SVG text only, no raster (${BATCH} images)`,
  group: "svg",
  fn() {
    for (const label of labels) syntheticSvg(label, 0, `bench-${label}`);
  },
});

const realDir = Deno.env.get("DIRBENCH_BENCH_JPEGS");
if (realDir) {
  const real = [...Deno.readDirSync(realDir)]
    .filter((e) => e.isFile && /\.jpe?g$/i.test(e.name))
    .map((e) => Deno.readFileSync(`${realDir}/${e.name}`));
  if (real.length > 0) {
    Deno.bench({
      name: `real photos from DIRBENCH_BENCH_JPEGS → 448 re-encode (${BATCH} images)`,
      group: "images",
      async fn() {
        await pool(labels, (_, i) => encodeImage({ bytes: real[i % real.length] }, DEFAULT_IMAGE_SETTINGS));
      },
    });
  }
}
