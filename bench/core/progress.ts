/**
 * A progress bar for long work: count, rate and ETA on stderr. On a terminal it redraws one line; in a
 * log (CI, a pipe) it prints a plain line at most every few seconds, so logs stay readable.
 *
 * @module
 */

/** A running progress display. */
export interface Progress {
  /** Advances by `n` units (default 1). */
  tick(n?: number): void;
  /** Sets the absolute count. */
  set(done: number): void;
  /** Prints the final line. */
  done(): void;
}

/** Options of {@linkcode progress}. */
export interface ProgressOptions {
  /** Unit name, e.g. "images" or "MB". */
  unit?: string;
  /** Write here instead of stderr (tests). */
  write?: (text: string) => void;
  /** Whether to redraw in place (default: stderr is a terminal). */
  interactive?: boolean;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Suppress all output. */
  quiet?: boolean;
}

const encoder = new TextEncoder();
const BAR_WIDTH = 24;
const LOG_EVERY_MS = 5000;
const REDRAW_EVERY_MS = 100;

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The text of one progress line. */
export function progressLine(
  label: string,
  done: number,
  total: number | null,
  elapsedMs: number,
  unit: string,
) {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const rateText = `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} ${unit}/s`;
  if (total === null || total <= 0) return `${label} ${done} ${unit} · ${rateText}`;
  const frac = Math.min(1, done / total);
  const filled = Math.round(frac * BAR_WIDTH);
  const bar = "█".repeat(filled) + "░".repeat(BAR_WIDTH - filled);
  const eta = rate > 0 ? formatDuration((total - done) / rate) : "?";
  return `${label} ${bar} ${
    (frac * 100).toFixed(1).padStart(5)
  }% ${done}/${total} ${unit} · ${rateText} · ETA ${eta}`;
}

/** Starts a progress display for `total` units (null when unknown). */
export function progress(label: string, total: number | null, options: ProgressOptions = {}): Progress {
  const unit = options.unit ?? "items";
  const now = options.now ?? (() => performance.now());
  const write = options.write ?? ((text: string) => Deno.stderr.writeSync(encoder.encode(text)));
  const interactive = options.interactive ?? Deno.stderr.isTerminal();
  const start = now();
  let count = 0;
  let lastDraw = -Infinity;
  const draw = (final: boolean) => {
    if (options.quiet) return;
    const t = now();
    if (!final && t - lastDraw < (interactive ? REDRAW_EVERY_MS : LOG_EVERY_MS)) return;
    lastDraw = t;
    const line = progressLine(label, count, total, t - start, unit);
    write(interactive ? `\r\x1b[2K${line}${final ? "\n" : ""}` : `${line}\n`);
  };
  return {
    tick(n = 1) {
      count += n;
      draw(false);
    },
    set(done: number) {
      count = done;
      draw(false);
    },
    done() {
      draw(true);
    },
  };
}
