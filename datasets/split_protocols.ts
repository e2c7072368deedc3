/**
 * Pure protocol code shared by the real-data adapters (IMDB-Movie-DIR, BoneAge-DIR): the seeded per-label
 * balanced test draw, the BoneAge authors' "peak filter" (defined here so its effect can be reported), and
 * the two text-level helpers their raw CSVs need (latin-1 decoding, a line-numbered CSV table). Nothing here
 * touches the file system, so every rule can be tested by hand.
 *
 * @module
 */

import { parse } from "csv-parse/sync";
import { InputError } from "../bench/core/errors.ts";
import { seededRng } from "../bench/core/rng.ts";

/** The least a row needs for a label-balanced draw. */
export interface LabelledRow {
  /** Unique id; the draw sorts by it so that input order never matters. */
  readonly id: string;
  /** The label whose group the row belongs to (grouped by exact value). */
  readonly label: number;
}

/** Options of {@linkcode balancedTestSplit}. */
export interface BalancedSplitOptions {
  /**
   * How many of a label's `n` rows go to test before the cap, e.g. `(n) => Math.floor(n / 3)`. Must return
   * an integer in [0, n].
   */
  fraction: (n: number) => number;
  /** At most this many test rows per label (an integer ≥ 0, or `Infinity`). */
  cap: number;
  /** Seed of the one generator that shuffles every label in turn. */
  seed: number;
}

/** How one label was split. */
export interface LabelDraw {
  /** The label. */
  label: number;
  /** Rows with this label. */
  rows: number;
  /** Of them, drawn into test. */
  test: number;
}

/** The result of {@linkcode balancedTestSplit}. */
export interface BalancedSplit<T> {
  /** Rows not drawn into test: label ascending, then in shuffled order. */
  train: T[];
  /** The drawn rows: label ascending, then in shuffled order. */
  test: T[];
  /** Per label, ascending: how many rows it had and how many went to test. */
  perLabel: LabelDraw[];
}

/**
 * The seeded per-label balanced test draw of the DIR benchmarks (AgeDB-style, no validation split):
 *
 * 1. group rows by label; visit labels in ascending numeric order;
 * 2. within a label, sort rows by id (UTF-16 code-unit order, as `<` on strings), so the result depends
 *    only on the set of rows, never on their input order;
 * 3. shuffle them with Fisher–Yates driven by one `seededRng(seed)` shared across labels in that order
 *    (for i = n−1 down to 1: j = ⌊u·(i+1)⌋ with u the next draw, swap i and j; a label with one row
 *    consumes no draw);
 * 4. the first k = min(fraction(n), cap) shuffled rows go to test, the rest to train.
 *
 * Throws a RangeError on a duplicate id, a non-finite label, a bad cap, or a `fraction` that is not an
 * integer in [0, n]: all are bugs in the caller, which must dedupe and validate first.
 *
 * @example
 * ```ts
 * import { balancedTestSplit } from "./split_protocols.ts";
 * const rows = [{ id: "a", label: 1 }, { id: "b", label: 1 }, { id: "c", label: 2 }];
 * const split = balancedTestSplit(rows, { fraction: (n) => Math.floor(n / 2), cap: 30, seed: 0 });
 * console.assert(split.test.length === 1 && split.train.length === 2);
 * ```
 */
export function balancedTestSplit<T extends LabelledRow>(
  rows: readonly T[],
  options: BalancedSplitOptions,
): BalancedSplit<T> {
  const { fraction, cap, seed } = options;
  if (!(cap >= 0) || (Number.isFinite(cap) && !Number.isInteger(cap))) {
    throw new RangeError(`cap must be an integer ≥ 0 or Infinity, got ${cap}`);
  }
  const groups = new Map<number, T[]>();
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.id)) throw new RangeError(`duplicate id ${JSON.stringify(row.id)}`);
    seen.add(row.id);
    if (!Number.isFinite(row.label)) {
      throw new RangeError(`row ${JSON.stringify(row.id)} has a non-finite label ${row.label}`);
    }
    const group = groups.get(row.label);
    if (group) group.push(row);
    else groups.set(row.label, [row]);
  }
  const rng = seededRng(seed);
  const train: T[] = [];
  const test: T[] = [];
  const perLabel: LabelDraw[] = [];
  for (const label of [...groups.keys()].sort((a, b) => a - b)) {
    const group = groups.get(label)!.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [group[i], group[j]] = [group[j], group[i]];
    }
    const wanted = fraction(group.length);
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > group.length) {
      throw new RangeError(
        `fraction(${group.length}) returned ${wanted}; it must be an integer in [0, ${group.length}]`,
      );
    }
    const k = Math.min(wanted, cap);
    test.push(...group.slice(0, k));
    train.push(...group.slice(k));
    perLabel.push({ label, rows: group.length, test: k });
  }
  return { train, test, perLabel };
}

/** Options of {@linkcode peakSparseLabels}; the BoneAge authors used window 10, ratio 0.25, threshold 100. */
export interface PeakFilterOptions {
  /** Window width; the density at label a sums the counts of labels a − ⌊window/2⌋ … a + ⌊window/2⌋. */
  window: number;
  /** A label is in the peak when its density is at least `ratio` × the largest density. */
  ratio: number;
  /** A label inside the peak region with at most this many rows is sparse. */
  threshold: number;
}

/** What {@linkcode peakSparseLabels} found. */
export interface PeakFilterResult {
  /** The peak region [first, last] (inclusive), or null for no labels. */
  peak: [number, number] | null;
  /** Labels inside the peak region that have 1..threshold rows, ascending (the labels the filter removes). */
  sparse: number[];
  /** Rows carrying a sparse label (the rows the filter removes). */
  removed: number;
}

/**
 * The "peak filter" of the BoneAge-DIR authors (xmed-lab/CCC-GRPO `data/boneage/plot.py`,
 * `save_peak_filtered_csv`), restated: over integer labels, count rows per label for every integer from
 * the smallest to the largest label (missing labels count 0); the density of label a is the sum of counts
 * over [a − ⌊window/2⌋, a + ⌊window/2⌋]; with D the largest density, the peak region runs from the smallest
 * to the largest label whose density is ≥ ratio × D; every label in that region with a count ≤ threshold
 * is sparse, and the filter removes its rows. Labels with count 0 are left out of `sparse` since they
 * remove nothing. Throws a RangeError on a non-integer label.
 */
export function peakSparseLabels(labels: readonly number[], options: PeakFilterOptions): PeakFilterResult {
  if (labels.length === 0) return { peak: null, sparse: [], removed: 0 };
  let lo = Infinity, hi = -Infinity;
  for (const l of labels) {
    if (!Number.isInteger(l)) throw new RangeError(`the peak filter needs integer labels, got ${l}`);
    lo = Math.min(lo, l);
    hi = Math.max(hi, l);
  }
  const counts = new Array<number>(hi - lo + 1).fill(0);
  for (const l of labels) counts[l - lo]++;
  const half = Math.floor(options.window / 2);
  const density = counts.map((_, i) => {
    let sum = 0;
    for (let k = Math.max(0, i - half); k <= Math.min(counts.length - 1, i + half); k++) sum += counts[k];
    return sum;
  });
  const max = Math.max(...density);
  const inPeak = density.map((d) => d >= options.ratio * max);
  const first = inPeak.indexOf(true), last = inPeak.lastIndexOf(true);
  const sparse: number[] = [];
  let removed = 0;
  for (let i = first; i <= last; i++) {
    if (counts[i] > 0 && counts[i] <= options.threshold) {
      sparse.push(lo + i);
      removed += counts[i];
    }
  }
  return { peak: [lo + first, lo + last], sparse, removed };
}

/**
 * Decodes ISO-8859-1 exactly: byte b becomes U+00bb. (WHATWG's `TextDecoder("latin1")` is really
 * windows-1252, which maps 0x80–0x9F elsewhere; Python's "latin-1", which the datasets' authors used,
 * does not.)
 */
export function decodeLatin1(bytes: Uint8Array): string {
  let out = "";
  // Chunked: String.fromCharCode with millions of arguments overflows the stack.
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** One data row of a {@linkcode CsvTable}. */
export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  line: number;
  /** Field values by header name (exactly as in the file, not trimmed). */
  values: Record<string, string>;
}

/** A CSV file as a header and rows. */
export interface CsvTable {
  /** Column names, trimmed. */
  header: string[];
  /** Data rows in file order; blank lines are skipped. */
  rows: CsvRow[];
}

/**
 * Parses CSV text (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; a stray quote
 * inside an unquoted field is kept literally, as Python's csv module does; a leading BOM is ignored; LF,
 * CRLF and CR line ends may mix). The first record is the header; it must contain every `required` column
 * (compared after trimming), and every row must have as many fields as the header. Malformed input throws
 * an {@linkcode InputError} naming `file` and the line.
 */
export function parseCsvTable(text: string, file: string, required: readonly string[] = []): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      relax_quotes: true,
      // Checked below, against the header, with the line where the row starts.
      relax_column_count: true,
      skip_empty_lines: true,
      record_delimiter: ["\r\n", "\n", "\r"],
    }) as unknown as typeof records;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new InputError(`malformed CSV: ${(err as Error).message}`, { file, line });
  }
  if (records.length === 0) throw new InputError("empty CSV file, expected a header line", { file });
  const startLine = (r: (typeof records)[number]) =>
    // info.lines is where the record ends; line breaks inside quoted fields put its start earlier.
    r.info.lines - r.record.reduce((n, f) => n + (f.match(/\r\n|\n|\r/g)?.length ?? 0), 0);
  const header = records[0].record.map((h) => h.trim());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new InputError(
      `missing column${missing.length > 1 ? "s" : ""} ${missing.map((c) => JSON.stringify(c)).join(", ")}` +
        ` (header: ${header.join(",")})`,
      { file, line: startLine(records[0]) },
    );
  }
  const rows: CsvRow[] = [];
  for (const r of records.slice(1)) {
    const line = startLine(r);
    if (r.record.length !== header.length) {
      throw new InputError(
        `expected ${header.length} fields as in the header, got ${r.record.length}`,
        { file, line },
      );
    }
    const values: Record<string, string> = {};
    header.forEach((h, i) => (values[h] = r.record[i]));
    rows.push({ line, values });
  }
  return { header, rows };
}
