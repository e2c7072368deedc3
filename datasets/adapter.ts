/**
 * What a dataset adapter is: the one file per dataset that knows where the raw data comes from and how
 * its rows and split are made. Everything shared (image re-encoding, dialogue form, manifest, card,
 * atomic output) lives in `prepare.ts`, so an adapter returns rows and nothing else.
 *
 * @module
 */

import type { LabelSpec } from "./format.ts";
import type { TaskId } from "./prompts.ts";

/** Where a sample's image comes from. Adapters never decode images themselves. */
export type ImageSource =
  /** A file on disk (raw JPEG/PNG of any size and orientation). */
  | { path: string }
  /** Encoded image bytes already in memory. */
  | { bytes: Uint8Array }
  /** An SVG document to rasterise (synthetic data). */
  | { svg: string };

/** One raw sample before preparation. */
export interface RawSample {
  /** Unique id across both splits; becomes the image file name, so keep it path-safe. */
  id: string;
  /** The regression target, in the dataset's unit. */
  label: number;
  /** The image. */
  image: ImageSource;
  /** Extra per-sample fields carried into the JSONL (e.g. the source path). */
  meta?: Record<string, unknown>;
}

/** A sample left out before preparation, and why. */
export interface DroppedSample {
  /** Sample id (or source path). */
  id: string;
  /** Split it would have been in, if known. */
  split?: "train" | "test";
  /** Why it was dropped, e.g. "image missing from the archive". */
  reason: string;
}

/** The rows of a dataset, its split, and how they were made. */
export interface AdapterOutput {
  /** Training rows (natural, imbalanced). */
  train: RawSample[];
  /** Test rows (approximately balanced). */
  test: RawSample[];
  /** Rows excluded before image encoding. */
  dropped: DroppedSample[];
  /** Markdown bullet lines for the card: how the split was made, in enough detail to redo it. */
  protocol: string[];
  /** Raw input files used, with their hashes, for provenance. */
  inputs: { name: string; sha256?: string; gitBlobSha1?: string }[];
}

/** What `load` gets from the `prepare` task. */
export interface LoadContext {
  /** The cache directory where `fetch` put raw data. */
  cache: string;
  /** `--from`: a raw archive or directory given by the user, if any. */
  from?: string;
  /** `--split`: a local copy of the split file, if any (its hash is still checked). */
  split?: string;
  /** Seed for every random draw the protocol makes. */
  seed: number;
  /** Requested split sizes, where the dataset's protocol lets the user choose. */
  sizes: { train?: number; test?: number };
  /** A line of progress or a note for the user. */
  log: (message: string) => void;
  /** Suppress progress bars. */
  quiet?: boolean;
}

/** What `fetch` gets from the `fetch` task. */
export interface FetchContext {
  /** The cache directory to fill. */
  cache: string;
  /** `--from`: an archive or directory to import instead of downloading. */
  from?: string;
  /** A line of progress or a note for the user. */
  log: (message: string) => void;
  /** Suppress progress bars. */
  quiet?: boolean;
}

/** One dataset: identity, terms, label axis, and how to fetch and load it. */
export interface DatasetAdapter {
  /** Registry id, e.g. `agedb-dir`. */
  id: string;
  /** Human-readable name. */
  title: string;
  /** Which prompt the samples use. */
  task: TaskId;
  /** The label axis (binWidth defaults to 1). */
  label: Omit<LabelSpec, "binWidth"> & { binWidth?: number };
  /** Where the raw data comes from. */
  source: string;
  /** Licence terms of the raw data, in a sentence. */
  licence: string;
  /** Default seed of the protocol's random draws. */
  defaultSeed: number;
  /** Downloads or imports the raw data into the cache (absent for generated datasets). */
  fetch?: (ctx: FetchContext) => Promise<void>;
  /** Produces the rows and split from the cache (or `--from`). */
  load: (ctx: LoadContext) => Promise<AdapterOutput>;
}
