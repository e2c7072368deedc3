/**
 * The model's vocabulary: a handful of tokens, enough to write any decimal number inside `<answer>`
 * tags. Numbers are produced digit by digit, so the model has the failure mode the paper studies
 * (regression to the mean through token-level cross-entropy).
 *
 * @module
 */

import type { TaskId } from "../../datasets/prompts.ts";

/** Special and structural tokens, by id. */
export const PAD = 0;
/** Beginning of sequence (unused by the LLaVA-style layout but reserved, as real vocabularies have it). */
export const BOS = 1;
/** End of answer: generation stops here. */
export const EOS = 2;
/** `<answer>` */
export const ANSWER_OPEN = 3;
/** `</answer>` */
export const ANSWER_CLOSE = 4;
/** The id of digit 0; digits 0–9 are consecutive, so a digit's value is `id − DIGIT_0`. */
export const DIGIT_0 = 5;
/** `.` */
export const DOT = 15;
/** `-` */
export const MINUS = 16;

/**
 * Task tokens. `quantity` is the backbone's auxiliary pretraining task, which differs from every
 * benchmark task; the others are the prepared datasets' tasks (`manifest.task`).
 */
export const TASK_TOKENS: Readonly<Record<TaskId | "quantity", number>> = {
  quantity: 17,
  age: 18,
  "movie-rating": 19,
  "bone-age": 20,
  synthetic: 21,
};

/** Vocabulary size. */
export const VOCAB_SIZE = 22;

const TEXT: readonly string[] = [
  "<pad>",
  "<bos>",
  "<eos>",
  "<answer>",
  "</answer>",
  ..."0123456789",
  ".",
  "-",
  "<task:quantity>",
  "<task:age>",
  "<task:movie-rating>",
  "<task:bone-age>",
  "<task:synthetic>",
];

/** The text of a token id (for debugging and decoding). */
export function tokenText(id: number): string {
  const t = TEXT[id];
  if (t === undefined) {
    throw new RangeError(`token id ${id} is outside the vocabulary (0..${VOCAB_SIZE - 1})`);
  }
  return t;
}

/**
 * The tokens of an answer: `<answer>`, the number's characters, `</answer>`, EOS. `decimals` fixes the
 * digits after the point (0: integers), so every label of a dataset is written one way.
 *
 * @example
 * ```ts
 * encodeAnswer(37, 0); // [3, 8, 12, 4, 2]
 * ```
 */
export function encodeAnswer(value: number, decimals: number): number[] {
  if (!Number.isFinite(value)) throw new RangeError(`cannot encode ${value} as an answer`);
  const text = value.toFixed(decimals);
  const ids = [...text].map((ch) => {
    if (ch === ".") return DOT;
    if (ch === "-") return MINUS;
    const d = ch.charCodeAt(0) - 48;
    if (d < 0 || d > 9) throw new RangeError(`cannot encode character "${ch}" of ${text}`);
    return DIGIT_0 + d;
  });
  return [ANSWER_OPEN, ...ids, ANSWER_CLOSE, EOS];
}

/**
 * The text of generated tokens up to (not including) the first EOS or PAD: what the scorer parses.
 * Task and special tokens render as their names, so malformed generations stay visible as such.
 */
export function decodeAnswer(ids: ArrayLike<number>): string {
  let text = "";
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === EOS || id === PAD) break;
    text += tokenText(id);
  }
  return text;
}

/** Whether a token is a digit, and its value (−1 if not). */
export function digitValue(id: number): number {
  return id >= DIGIT_0 && id < DIGIT_0 + 10 ? id - DIGIT_0 : -1;
}

/** Digits after the point needed to write every label of a dataset exactly (at most `max`). */
export function decimalsFor(labels: Iterable<number>, max = 3): number {
  let need = 0;
  for (const y of labels) {
    while (need < max && Math.abs(Number(y.toFixed(need)) - y) > 1e-9) need++;
  }
  return need;
}

/** Tokens of the longest answer for labels within [min, max] at `decimals` (EOS included). */
export function maxAnswerTokens(min: number, max: number, decimals: number): number {
  return Math.max(encodeAnswer(min, decimals).length, encodeAnswer(max, decimals).length);
}
