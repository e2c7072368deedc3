/**
 * `imdb-movie-dir`: IMDB-Movie-DIR, the movie-poster → IMDb score benchmark of the CCC-GRPO paper. Rows
 * come from Kaggle's `MovieGenre.csv` ("Movie Genre from its Poster"); images are posters named
 * `<imdbId>.jpg`, which only Kaggle copies still provide (the CSV's Amazon CDN links are mostly dead), so
 * there is no automatic download: `fetch` imports a zip, tar or folder the user got from Kaggle.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { InputError } from "../bench/core/errors.ts";
import { sha256Hex } from "../bench/core/hash.ts";
import type {
  AdapterOutput,
  DatasetAdapter,
  DroppedSample,
  FetchContext,
  LoadContext,
  RawSample,
} from "./adapter.ts";
import { archiveKind, extractArchive, walkArchive } from "./archive.ts";
import { balancedTestSplit, decodeLatin1, parseCsvTable } from "./split_protocols.ts";

/** The Kaggle pages the data comes from. */
export const IMDB_MOVIE_SOURCES = {
  /** The original dataset: `MovieGenre.csv` and about 1,000 sample posters. */
  csv: "https://www.kaggle.com/datasets/neha1703/movie-genre-from-its-poster",
  /** A copy with the same CSV and the posters downloaded as `<imdbId>.jpg`. */
  posters: "https://www.kaggle.com/datasets/getaolga/moviepostersimdb",
} as const;

/** The CSV's file name and its exact header. */
export const MOVIE_CSV = "MovieGenre.csv";
/** The columns of {@linkcode MOVIE_CSV}, in order. */
export const MOVIE_COLUMNS = ["imdbId", "Imdb Link", "Title", "IMDB Score", "Genre", "Poster"] as const;

/** The test draw: per label, min(⌊n/3⌋, 30) rows (AgeDB-style, no validation split). */
export const MOVIE_SPLIT = { divisor: 3, cap: 30 } as const;

/** Where `fetch` puts the imported files, under the cache directory. */
export const MOVIE_CACHE_DIR = "imdb-movie-dir";

const POSTER = /^(\d+)\.jpe?g$/i;
const SCORE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Archive members that are never data: macOS resource forks and their folder. */
function isJunk(path: string): boolean {
  return path.split("/").some((part) => part === "__MACOSX" || part.startsWith("._"));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Prefers fewer path segments, then the smaller path (code-unit order): deterministic for any walk order. */
function preferred(a: string, b: string): boolean {
  const da = a.split("/").length, db = b.split("/").length;
  return da !== db ? da < db : a < b;
}

/**
 * An IMDb score as the benchmark's integer label: round(score × 10), ties to even as Python's `round`
 * (the authors' `int(round(score * 10))`). With one-decimal scores no tie occurs.
 */
export function movieLabel(score: number): number {
  const x = score * 10;
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** What a folder holds: the chosen `MovieGenre.csv` and one poster path per imdbId (paths relative to it). */
export interface MovieIndex {
  /** Relative path of the CSV used, if any. */
  csv?: string;
  /** imdbId → relative poster path. */
  posters: Map<string, string>;
  /** Poster files ignored because another file had the same imdbId. */
  duplicatePosters: number;
}

/**
 * Finds `MovieGenre.csv` and posters `<imdbId>.jpg` (or `.jpeg`, any case) at any depth of a folder, zip
 * or tar. Where several files qualify, the one with the fewest path segments wins, then the smaller path.
 */
export async function indexMovieFiles(root: string): Promise<MovieIndex> {
  const index: MovieIndex = { posters: new Map(), duplicatePosters: 0 };
  for await (const entry of walkArchive(root)) {
    if (isJunk(entry.path)) continue;
    const name = baseName(entry.path);
    if (name === MOVIE_CSV) {
      if (index.csv === undefined || preferred(entry.path, index.csv)) index.csv = entry.path;
      continue;
    }
    const poster = POSTER.exec(name);
    if (!poster) continue;
    // Kaggle's ids are unpadded; normalise in case a copy pads them.
    const id = String(Number(poster[1]));
    const had = index.posters.get(id);
    if (had !== undefined) index.duplicatePosters++;
    if (had === undefined || preferred(entry.path, had)) index.posters.set(id, entry.path);
  }
  return index;
}

function fetchInstructions(): string {
  return [
    "imdb-movie-dir cannot be downloaded automatically: its files are on Kaggle, and downloading them needs",
    "a (free) Kaggle account. Sign in at https://www.kaggle.com, then download one of:",
    `  - ${IMDB_MOVIE_SOURCES.posters}`,
    "      MovieGenre.csv plus the posters saved as <imdbId>.jpg (what the benchmark needs), or with the Kaggle",
    "      CLI: kaggle datasets download -d getaolga/moviepostersimdb",
    `  - ${IMDB_MOVIE_SOURCES.csv}`,
    "      the original MovieGenre.csv; its SampleMoviePosters/ folder has only about 1,000 posters.",
    "The Poster column of MovieGenre.csv links to Amazon's image CDN and most of those links are dead, so get",
    "the posters through the Kaggle copy rather than by downloading the URLs.",
    "Then import the download (a zip, tar or folder holding MovieGenre.csv and posters named <imdbId>.jpg at",
    "any depth):",
    "  deno task fetch imdb-movie-dir --from <download.zip or folder>",
  ].join("\n");
}

/**
 * Imports a Kaggle download into `<cache>/imdb-movie-dir/`: only `MovieGenre.csv` files and posters named
 * `<imdbId>.jpg` are extracted, keeping their paths. Replaces an earlier import only once the new one is
 * complete.
 */
export async function fetchImdbMovie(ctx: FetchContext, options: { quiet?: boolean } = {}): Promise<void> {
  if (!ctx.from) throw new InputError(fetchInstructions());
  const from = resolve(ctx.from);
  const target = join(ctx.cache, MOVIE_CACHE_DIR);
  const staging = join(ctx.cache, `.${MOVIE_CACHE_DIR}.import-${crypto.randomUUID().slice(0, 8)}`);
  try {
    const { files } = await extractArchive(from, staging, {
      filter: (p) => !isJunk(p) && (baseName(p) === MOVIE_CSV || POSTER.test(baseName(p))),
      quiet: options.quiet,
    });
    const index = await indexMovieFiles(staging);
    if (index.csv === undefined) {
      throw new InputError(`no ${MOVIE_CSV} found in it.\n${fetchInstructions()}`, { file: from });
    }
    if (index.posters.size === 0) {
      throw new InputError(`no posters named <imdbId>.jpg found in it.\n${fetchInstructions()}`, {
        file: from,
      });
    }
    await replaceDir(staging, target);
    ctx.log(
      `imdb-movie-dir: imported ${files} files (${index.csv}, ${index.posters.size} posters` +
        `${
          index.duplicatePosters ? `, ${index.duplicatePosters} duplicate poster files ignored` : ""
        }) into ${target}`,
    );
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

/** Moves a complete `staging` directory to `target`, replacing what is there only after it succeeded. */
async function replaceDir(staging: string, target: string): Promise<void> {
  let old: string | undefined;
  try {
    await Deno.lstat(target);
    old = `${staging}.old`;
    await Deno.rename(target, old);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.rename(staging, target);
  if (old) await Deno.remove(old, { recursive: true });
}

/** Where `load` reads: `--from` when it is a folder, else the fetch cache; archives must be fetched first. */
async function dataRoot(ctx: LoadContext): Promise<string> {
  if (ctx.from) {
    const from = resolve(ctx.from);
    if (await archiveKind(from) !== "dir") {
      throw new InputError(
        "prepare reads a folder; import an archive first with " +
          `\`deno task fetch imdb-movie-dir --from ${ctx.from}\`, then run prepare without --from`,
        { file: from },
      );
    }
    return from;
  }
  const root = join(ctx.cache, MOVIE_CACHE_DIR);
  try {
    await Deno.stat(root);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(`imdb-movie-dir has not been fetched (no ${root}).\n${fetchInstructions()}`);
    }
    throw err;
  }
  return root;
}

/** Reads the CSV and posters, keeps the usable rows and draws the balanced split. */
export async function loadImdbMovie(ctx: LoadContext): Promise<AdapterOutput> {
  if (ctx.sizes.train !== undefined || ctx.sizes.test !== undefined) {
    throw new InputError("imdb-movie-dir has a fixed protocol; --train and --test cannot be set");
  }
  if (ctx.split !== undefined) {
    throw new InputError("imdb-movie-dir has no published split file; drop --split");
  }
  const root = await dataRoot(ctx);
  const index = await indexMovieFiles(root);
  if (index.csv === undefined) {
    throw new InputError(`no ${MOVIE_CSV} found in it.\n${fetchInstructions()}`, { file: root });
  }
  const csvPath = join(root, ...index.csv.split("/"));
  const bytes = await Deno.readFile(csvPath);
  const table = parseCsvTable(decodeLatin1(bytes), csvPath, ["imdbId", "IMDB Score"]);

  const dropped: DroppedSample[] = [];
  const kept = new Map<string, RawSample & { line: number }>();
  const counts = { rows: table.rows.length, score: 0, poster: 0, duplicate: 0 };
  for (const { line, values } of table.rows) {
    const rawId = values.imdbId.trim();
    if (!/^\d+$/.test(rawId)) {
      throw new InputError(`imdbId must be a whole number, got ${JSON.stringify(values.imdbId)}`, {
        file: csvPath,
        line,
      });
    }
    const imdbId = String(Number(rawId));
    const id = `movie-${imdbId}`;
    const scoreText = values["IMDB Score"].trim();
    const score = SCORE.test(scoreText) ? Number(scoreText) : NaN;
    if (!(score >= 0 && score <= 10)) {
      counts.score++;
      dropped.push({ id, reason: "IMDB Score missing or not a number in [0, 10]" });
      continue;
    }
    const poster = index.posters.get(imdbId);
    if (poster === undefined) {
      counts.poster++;
      dropped.push({ id, reason: "no poster <imdbId>.jpg" });
      continue;
    }
    if (kept.has(id)) {
      counts.duplicate++;
      dropped.push({ id, reason: "duplicate imdbId (the first usable row is kept)" });
      continue;
    }
    kept.set(id, {
      id,
      label: movieLabel(score),
      image: { path: join(root, ...poster.split("/")) },
      line,
      meta: {
        imdbId: Number(imdbId),
        title: values.Title ?? null,
        score,
        genre: values.Genre ?? null,
      },
    });
  }

  const split = balancedTestSplit([...kept.values()], {
    fraction: (n) => Math.floor(n / MOVIE_SPLIT.divisor),
    cap: MOVIE_SPLIT.cap,
    seed: ctx.seed,
  });
  const strip = ({ line: _line, ...sample }: RawSample & { line: number }): RawSample => sample;
  const train = split.train.map(strip);
  const test = split.test.map(strip);
  const labels = split.perLabel.map((d) => d.label);
  ctx.log(
    `imdb-movie-dir: ${counts.rows} CSV rows → ${kept.size} usable (${counts.score} without a score, ` +
      `${counts.poster} without a poster, ${counts.duplicate} duplicate ids) → ${train.length} train / ` +
      `${test.length} test`,
  );
  return {
    train,
    test,
    dropped,
    inputs: [{ name: MOVIE_CSV, sha256: await sha256Hex(bytes) }, {
      name: `${index.posters.size} poster files (imdbId.jpg; not hashed)`,
    }],
    protocol: [
      `Rows: \`${MOVIE_CSV}\` of the Kaggle dataset "Movie Genre from its Poster" (${IMDB_MOVIE_SOURCES.csv}), ` +
      `read as ISO-8859-1 (each byte to the code point of the same value; titles keep the source's mojibake) with an RFC 4180 CSV parser, ` +
      `header \`${MOVIE_COLUMNS.join(",")}\`; ${counts.rows.toLocaleString("en-US")} data rows here ` +
      `(sha256 in the inputs).`,
      `Images: posters named \`<imdbId>.jpg\` (e.g. from ${IMDB_MOVIE_SOURCES.posters}) found at any depth of ` +
      `the imported folder; when several files share an imdbId, the one with the fewest path segments, then ` +
      `the smallest path, is used. The CSV's Poster URLs are not used.`,
      `Usable rows: imdbId a whole number (anything else is a malformed file); \`IMDB Score\` a decimal ` +
      `number in [0, 10] (else dropped); a poster exists for the imdbId (else dropped); the first such row ` +
      `per imdbId in file order (later ones dropped as duplicates). Here: ${
        kept.size.toLocaleString("en-US")
      } ` +
      `usable; dropped ${counts.score} without a score, ${counts.poster} without a poster, ` +
      `${counts.duplicate} duplicates.`,
      `Label: round(IMDb score × 10) with ties to even (Python's \`int(round(score * 10))\`), an integer ` +
      `0–100, bin width 1; ${labels.length} distinct labels here` +
      (labels.length ? ` (${labels[0]}–${labels[labels.length - 1]})` : "") + ".",
      `Split (AgeDB-style balanced test, no validation split): per label, ascending, the rows sorted by id ` +
      `(\`movie-<imdbId>\`, code-unit order) are shuffled by Fisher–Yates with one dirbench seededRng ` +
      `(sfc32) stream of seed ${ctx.seed} shared across labels; the first min(⌊n/${MOVIE_SPLIT.divisor}⌋, ` +
      `${MOVIE_SPLIT.cap}) go to test, the rest to train. Here: ${train.length.toLocaleString("en-US")} ` +
      `train / ${test.length.toLocaleString("en-US")} test before image decoding.`,
      `Posters that do not decode are dropped while preparing, after the split is drawn, so such a label ` +
      `has one fewer sample in its split than the rule gives (listed in dropped.json).`,
      `Differences from the paper: the authors (xmed-lab/CCC-GRPO, data/poster_score/meta/split.py) drew ` +
      `the same rule with Python's random.seed(666) over posters they scraped themselves (7,049 train / ` +
      `1,203 test; train labels 16–95, 73 distinct, largest bin 353 at label 72). Their poster set is not ` +
      `public and their shuffle is Python's Mersenne Twister, so counts and membership differ here; the ` +
      `default seed is 0.`,
    ],
  };
}

/** The `imdb-movie-dir` adapter. */
export const imdbMovieDir: DatasetAdapter = {
  id: "imdb-movie-dir",
  title: "IMDB-Movie-DIR (IMDb score from the poster)",
  task: "movie-rating",
  label: { min: 0, max: 100, unit: "IMDb score × 10", binWidth: 1 },
  source:
    `Kaggle "Movie Genre from its Poster" (${IMDB_MOVIE_SOURCES.csv}); posters via ${IMDB_MOVIE_SOURCES.posters}`,
  licence:
    "no licence is stated with the Kaggle data as far as dirbench knows; the posters are copyrighted " +
    "artwork: use them for non-commercial research and do not redistribute them",
  defaultSeed: 0,
  fetch: (ctx) => fetchImdbMovie(ctx, { quiet: ctx.quiet === true }),
  load: loadImdbMovie,
};
