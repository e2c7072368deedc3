/**
 * The answer parser: the only place model text becomes a number.
 *
 * Contract (strict, the paper's): take the first `<answer>…</answer>` block; its first number matching
 * `[-+]?(\d+(\.\d*)?|\.\d+)` is the prediction. No block, or no number in it, is invalid. The lenient
 * policy additionally falls back to the first such number anywhere in the text. Values are never clamped.
 *
 * @module
 */

/** How model text is turned into a number. */
export type ParsePolicy = "strict" | "lenient";

/** The parse policies, for validating flags. */
export const PARSE_POLICIES: readonly ParsePolicy[] = ["strict", "lenient"];

/**
 * How a prediction was obtained:
 * - `answer`: a number inside the first `<answer>` block;
 * - `fallback`: no usable block, but the lenient policy found a number elsewhere in the text;
 * - `value`: given as a number (regression heads), not parsed;
 * - `invalid`: nothing usable; scored as the median of the training labels.
 */
export type ParseStatus = "answer" | "fallback" | "value" | "invalid";

/** The result of parsing one output. */
export interface ParsedAnswer {
  /** The parsed number, or null when invalid. */
  value: number | null;
  /** How it was found. */
  status: Exclude<ParseStatus, "value">;
}

/** The number pattern of the contract (no exponents, no thousands separators). */
const NUMBER = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)/;
// Non-greedy and across lines: the first block ends at the first closing tag.
const ANSWER_BLOCK = /<answer>([\s\S]*?)<\/answer>/;

/** Parses the first number in `text` matching the contract's pattern, or null. */
export function firstNumber(text: string): number | null {
  const m = NUMBER.exec(text);
  if (!m) return null;
  const v = Number(m[0]);
  // A run of hundreds of digits overflows to Infinity; such text is not a usable prediction.
  return Number.isFinite(v) ? v : null;
}

/**
 * Parses a model's raw output under `policy`.
 *
 * @example
 * ```ts
 * parseAnswer("I think <answer> 37 </answer>");  // { value: 37, status: "answer" }
 * parseAnswer("about 37", "lenient");             // { value: 37, status: "fallback" }
 * parseAnswer("about 37");                        // { value: null, status: "invalid" }
 * ```
 */
export function parseAnswer(text: string, policy: ParsePolicy = "strict"): ParsedAnswer {
  const block = ANSWER_BLOCK.exec(text);
  if (block) {
    const v = firstNumber(block[1]);
    if (v !== null) return { value: v, status: "answer" };
  }
  if (policy === "lenient") {
    const v = firstNumber(text);
    if (v !== null) return { value: v, status: "fallback" };
  }
  return { value: null, status: "invalid" };
}
