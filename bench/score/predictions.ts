/**
 * Predictions files: JSONL with one `{"id", "output"}` (raw model text) or `{"id", "value"}` (a number,
 * for regression heads) per line, covering every test id exactly once.
 *
 * @module
 */

import { InputError } from "../core/errors.ts";
import { readTextFile } from "../core/fs.ts";
import { describe, parseJsonl } from "../core/jsonl.ts";

/** A predicted answer: raw model text to parse, or a number. */
export type PredictedAnswer = { output: string; value?: undefined } | { value: number; output?: undefined };

/** One prediction: a test id and its answer. */
export type Prediction = PredictedAnswer & { id: string };

/** A prediction with the line it was read from, for error messages. */
export type LocatedPrediction = Prediction & { line?: number };

/** How many ids an error lists before summarising the rest as a count. */
const LIST_AT_MOST = 5;

/**
 * Validates parsed prediction objects: `id` a non-empty string, exactly one of `output` (string) or
 * `value` (finite number), no duplicate ids. Throws an {@linkcode InputError} naming `file` and the line.
 */
export function validatePredictions(
  records: readonly { line?: number; value: unknown }[],
  file: string,
): LocatedPrediction[] {
  const seen = new Map<string, number | undefined>();
  const out: LocatedPrediction[] = [];
  records.forEach(({ line, value }, index) => {
    const where = { file, line: line ?? index + 1 };
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new InputError(`expected a JSON object, got ${describe(value)}`, where);
    }
    const r = value as Record<string, unknown>;
    if (typeof r.id !== "string" || r.id === "") {
      throw new InputError(
        `"id" must be a non-empty string, got ${r.id === undefined ? "nothing" : describe(r.id)}`,
        where,
      );
    }
    if (seen.has(r.id)) {
      const first = seen.get(r.id);
      throw new InputError(
        `duplicate id ${JSON.stringify(r.id)}${first === undefined ? "" : ` (first on line ${first})`}`,
        where,
      );
    }
    seen.set(r.id, where.line);
    const hasOutput = r.output !== undefined, hasValue = r.value !== undefined;
    if (hasOutput === hasValue) {
      throw new InputError(
        hasOutput
          ? `give either "output" or "value", not both (id ${JSON.stringify(r.id)})`
          : `missing "output" (model text) or "value" (a number) (id ${JSON.stringify(r.id)})`,
        where,
      );
    }
    if (hasOutput) {
      if (typeof r.output !== "string") {
        throw new InputError(`"output" must be a string, got ${describe(r.output)}`, where);
      }
      out.push({ id: r.id, output: r.output, line: where.line });
    } else {
      if (typeof r.value !== "number") {
        throw new InputError(`"value" must be a number, got ${describe(r.value)}`, where);
      }
      // JSON.parse turns 1e999 into Infinity, so finiteness must be checked, not assumed.
      if (!Number.isFinite(r.value)) {
        throw new InputError(`"value" must be finite, got ${r.value} (id ${JSON.stringify(r.id)})`, where);
      }
      out.push({ id: r.id, value: r.value, line: where.line });
    }
  });
  return out;
}

/** Reads and validates a predictions JSONL file. */
export async function readPredictions(file: string): Promise<LocatedPrediction[]> {
  const text = await readTextFile(file, "predictions file");
  return validatePredictions(parseJsonl(text, file), file);
}

/**
 * Matches predictions to the test ids: every prediction must name a test id and every test id must have a
 * prediction. Returns the predictions in test order.
 */
export function alignToTestSet(
  predictions: readonly LocatedPrediction[],
  testIds: readonly string[],
  file: string,
): LocatedPrediction[] {
  const testSet = new Set(testIds);
  for (const p of predictions) {
    if (!testSet.has(p.id)) {
      throw new InputError(`id ${JSON.stringify(p.id)} is not in the test set`, { file, line: p.line });
    }
  }
  const byId = new Map(predictions.map((p) => [p.id, p]));
  const missing = testIds.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    const shown = missing.slice(0, LIST_AT_MOST).map((id) => JSON.stringify(id)).join(", ");
    const more = missing.length > LIST_AT_MOST ? `, … (${missing.length - LIST_AT_MOST} more)` : "";
    throw new InputError(
      `${missing.length} of ${testIds.length} test ids have no prediction: ${shown}${more}`,
      { file },
    );
  }
  return testIds.map((id) => byId.get(id)!);
}
