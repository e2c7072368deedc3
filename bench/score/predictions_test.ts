import assert from "node:assert/strict";
import { InputError } from "../core/errors.ts";
import { alignToTestSet, validatePredictions } from "./predictions.ts";

const rec = (value: unknown, line: number) => ({ value, line });
const fails = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e) => e instanceof InputError && message.test(e.message));

Deno.test("validatePredictions accepts output or value lines", () => {
  const preds = validatePredictions([
    rec({ id: "a", output: "<answer>1</answer>" }, 1),
    rec({ id: "b", value: 2.5 }, 2),
  ], "p");
  assert.deepEqual(preds, [{ id: "a", output: "<answer>1</answer>", line: 1 }, {
    id: "b",
    value: 2.5,
    line: 2,
  }]);
});

Deno.test("validatePredictions rejects bad lines with file:line", () => {
  fails(
    () => validatePredictions([rec({ output: "1" }, 3)], "p.jsonl"),
    /^p\.jsonl:3: "id" must be a non-empty string, got nothing/,
  );
  fails(
    () => validatePredictions([rec({ id: 7, value: 1 }, 1)], "p"),
    /^p:1: "id" must be a non-empty string, got a number/,
  );
  fails(
    () => validatePredictions([rec({ id: "a", value: 1 }, 1), rec({ id: "a", value: 2 }, 4)], "p"),
    /^p:4: duplicate id "a" \(first on line 1\)/,
  );
  fails(
    () => validatePredictions([rec({ id: "a", value: 1, output: "1" }, 2)], "p"),
    /^p:2: give either "output" or "value", not both/,
  );
  fails(
    () => validatePredictions([rec({ id: "a" }, 2)], "p"),
    /^p:2: missing "output" \(model text\) or "value"/,
  );
  fails(
    () => validatePredictions([rec({ id: "a", value: Infinity }, 5)], "p"),
    /^p:5: "value" must be finite/,
  );
  fails(
    () => validatePredictions([rec({ id: "a", value: "37" }, 5)], "p"),
    /^p:5: "value" must be a number, got a string/,
  );
  fails(
    () => validatePredictions([rec({ id: "a", output: 37 }, 6)], "p"),
    /^p:6: "output" must be a string, got a number/,
  );
});

Deno.test("alignToTestSet orders by test id and reports invented and missing ids", () => {
  const preds = validatePredictions([rec({ id: "b", value: 2 }, 1), rec({ id: "a", value: 1 }, 2)], "p");
  assert.deepEqual(alignToTestSet(preds, ["a", "b"], "p").map((p) => p.id), ["a", "b"]);
  fails(() => alignToTestSet(preds, ["a"], "p"), /^p:1: id "b" is not in the test set/);
  const ids = Array.from({ length: 9 }, (_, i) => `t${i}`);
  fails(
    () => alignToTestSet(preds.filter((p) => p.id === "a"), ["a", ...ids], "p"),
    /^p: 9 of 10 test ids have no prediction: "t0", "t1", "t2", "t3", "t4", … \(4 more\)$/,
  );
});
