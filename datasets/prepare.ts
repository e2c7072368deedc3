/**
 * The shared dataset builder behind `deno task prepare`: an adapter's rows → re-encoded images →
 * dialogue JSONL → manifest → card and histograms. It writes into a temporary sibling directory and
 * renames it into place at the end, so an interrupted or failed run never leaves a directory that looks
 * complete.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { exists, writeFileAtomic, writeJsonAtomic } from "../bench/core/fs.ts";
import { progress } from "../bench/core/progress.ts";
import { DIRBENCH_VERSION } from "../bench/core/provenance.ts";
import { binIndex, buildShotTable, regionOf, type ShotTable } from "../bench/score/shots.ts";
import type { AdapterOutput, DatasetAdapter, DroppedSample, LoadContext, RawSample } from "./adapter.ts";
import { datasetCard, histogramFigures } from "./card.ts";
import { type DatasetManifest, DEFAULT_SHOTS, type Sample, writePreparedDataset } from "./format.ts";
import { DEFAULT_IMAGE_SETTINGS, encodeImage, type ImageSettings } from "./images.ts";
import { dialogue, promptFor } from "./prompts.ts";

/** Options of {@linkcode prepareDataset}. */
export interface PrepareOptions {
  /** Output directory; must not exist unless `force`. */
  out: string;
  /** Replace an existing output directory. */
  force?: boolean;
  /** Image settings (longest side, JPEG quality). */
  images?: Partial<ImageSettings>;
  /** Images encoded at once (default 4). */
  concurrency?: number;
  /** Suppress the progress bar. */
  quiet?: boolean;
  /** Passed to the adapter's `load`. */
  load: Omit<LoadContext, "log" | "seed"> & { seed?: number; log?: (message: string) => void };
}

/** Counts per shot region, as recorded in the manifest and the card. */
export interface RegionCounts {
  /** Bins of each region that hold samples of this split. */
  bins: { many: number; medium: number; few: number };
  /** Samples of this split in each region. */
  samples: { many: number; medium: number; few: number };
}

/** What {@linkcode prepareDataset} produced. */
export interface PrepareOutput {
  /** The final directory. */
  dir: string;
  /** Its manifest. */
  manifest: DatasetManifest;
  /** Every sample excluded, before or during image encoding. */
  dropped: DroppedSample[];
  /** Images encoded per second (wall time of the encoding phase). */
  imagesPerSecond: number;
}

/** Prepares `adapter`'s dataset into `options.out`. */
export async function prepareDataset(
  adapter: DatasetAdapter,
  options: PrepareOptions,
): Promise<PrepareOutput> {
  const out = resolve(options.out);
  if (!options.force && await exists(out)) {
    throw new InputError("already exists; choose another --out or pass --force to replace it", { file: out });
  }
  const log = options.load.log ?? ((m: string) => console.error(m));
  const seed = options.load.seed ?? adapter.defaultSeed;
  const rows = await adapter.load({ quiet: options.quiet, ...options.load, seed, log });
  checkRows(adapter, rows);

  const images = { ...DEFAULT_IMAGE_SETTINGS, ...options.images };
  const tmp = join(dirname(out), `.${basename(out)}.partial-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(join(tmp, "images"), { recursive: true });
  try {
    const dropped = [...rows.dropped];
    const started = performance.now();
    const encoded = await encodeAll(tmp, rows, images, options.concurrency ?? 4, dropped, options.quiet);
    const seconds = (performance.now() - started) / 1000;
    const train = rows.train.filter((s) => encoded.has(s.id)).map((s) =>
      toSample(adapter, s, encoded.get(s.id)!)
    );
    const test = rows.test.filter((s) => encoded.has(s.id)).map((s) =>
      toSample(adapter, s, encoded.get(s.id)!)
    );

    const label = { binWidth: 1, ...adapter.label };
    const table = buildShotTable(train.map((s) => s.label), label, DEFAULT_SHOTS);
    const regions = { train: regionCounts(train, table), test: regionCounts(test, table) };
    const manifest = await writePreparedDataset(
      tmp,
      {
        id: adapter.id,
        title: adapter.title,
        task: adapter.task,
        prompt: promptFor(adapter.task),
        label,
        shots: DEFAULT_SHOTS,
        source: adapter.source,
        licence: adapter.licence,
        seed,
        images: { format: "jpeg", ...images },
        regions,
        dropped: dropped.length,
        inputs: rows.inputs,
        dirbench: DIRBENCH_VERSION,
      },
      train,
      test,
    );

    const figures = histogramFigures(manifest, train, test, table);
    await writeFileAtomic(join(tmp, "train-histogram.svg"), figures.train);
    await writeFileAtomic(join(tmp, "test-histogram.svg"), figures.test);
    await writeJsonAtomic(join(tmp, "dropped.json"), dropped);
    await writeFileAtomic(join(tmp, "card.md"), datasetCard(manifest, rows.protocol, dropped));

    if (options.force && await exists(out)) {
      // Swap rather than delete first, so a failure here still leaves one complete dataset in place.
      const old = `${tmp}.old`;
      await Deno.rename(out, old);
      await Deno.rename(tmp, out);
      await Deno.remove(old, { recursive: true });
    } else {
      await Deno.rename(tmp, out);
    }
    return {
      dir: out,
      manifest,
      dropped,
      imagesPerSecond: (train.length + test.length) / Math.max(seconds, 1e-9),
    };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}

function checkRows(adapter: DatasetAdapter, rows: AdapterOutput): void {
  const seen = new Set<string>();
  for (const s of [...rows.train, ...rows.test]) {
    if (!/^[A-Za-z0-9._-]+$/.test(s.id)) {
      throw new Error(`${adapter.id}: sample id ${JSON.stringify(s.id)} is not path-safe`);
    }
    if (seen.has(s.id)) throw new Error(`${adapter.id}: sample id ${JSON.stringify(s.id)} occurs twice`);
    seen.add(s.id);
    if (!Number.isFinite(s.label) || s.label < adapter.label.min || s.label > adapter.label.max) {
      throw new Error(
        `${adapter.id}: sample ${s.id} has label ${s.label} outside [${adapter.label.min}, ${adapter.label.max}]`,
      );
    }
  }
  if (rows.train.length === 0) throw new InputError(`${adapter.id}: no training samples were found`);
  if (rows.test.length === 0) throw new InputError(`${adapter.id}: no test samples were found`);
}

/** Encodes every image with a small pool of workers; failures are recorded, not thrown. */
async function encodeAll(
  dir: string,
  rows: AdapterOutput,
  settings: ImageSettings,
  concurrency: number,
  dropped: DroppedSample[],
  quiet?: boolean,
): Promise<Map<string, { file: string; width: number; height: number }>> {
  const jobs = [
    ...rows.train.map((s) => ({ s, split: "train" as const })),
    ...rows.test.map((s) => ({ s, split: "test" as const })),
  ];
  const done = new Map<string, { file: string; width: number; height: number }>();
  const bar = progress("images", jobs.length, { unit: "images", quiet });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { s, split } = jobs[next++];
      try {
        const img = await encodeImage(s.image, settings);
        const file = `images/${s.id}.jpg`;
        await Deno.writeFile(join(dir, file), img.data);
        done.set(s.id, { file, width: img.width, height: img.height });
      } catch (err) {
        dropped.push({
          id: s.id,
          split,
          reason: `unreadable image: ${(err as Error).message.split("\n")[0]}`,
        });
      }
      bar.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  bar.done();
  return done;
}

function toSample(
  adapter: DatasetAdapter,
  s: RawSample,
  img: { file: string; width: number; height: number },
): Sample {
  return {
    id: s.id,
    label: s.label,
    image: img.file,
    width: img.width,
    height: img.height,
    messages: dialogue(adapter.task, s.label),
    ...s.meta,
  };
}

/** Bins and samples per shot region of one split, with regions from the training counts. */
export function regionCounts(samples: readonly Sample[], table: ShotTable): RegionCounts {
  const counts: RegionCounts = {
    bins: { many: 0, medium: 0, few: 0 },
    samples: { many: 0, medium: 0, few: 0 },
  };
  const bins = new Set<string>();
  for (const s of samples) {
    const region = regionOf(s.label, table);
    counts.samples[region]++;
    const key = `${region}:${binIndex(s.label, table.label)}`;
    if (!bins.has(key)) {
      bins.add(key);
      counts.bins[region]++;
    }
  }
  return counts;
}
