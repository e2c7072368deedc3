import assert from "node:assert/strict";
import { InputError } from "./errors.ts";
import { parseJsonl, toJsonl } from "./jsonl.ts";

Deno.test("parseJsonl keeps 1-based line numbers across blank lines and CRLF", () => {
  const records = parseJsonl('{"a":1}\r\n\n  \n{"a":2}\n', "f.jsonl");
  assert.deepEqual(records, [{ line: 1, value: { a: 1 } }, { line: 4, value: { a: 2 } }]);
  assert.deepEqual(parseJsonl("", "f.jsonl"), []);
  assert.deepEqual(parseJsonl('{"a":1}', "f.jsonl"), [{ line: 1, value: { a: 1 } }]); // no final newline
});

Deno.test("parseJsonl names the file and line of malformed or non-object lines", () => {
  assert.throws(
    () => parseJsonl('{"a":1}\n{"a":\n', "preds.jsonl"),
    (e) => e instanceof InputError && e.message.startsWith("preds.jsonl:2: malformed JSON"),
  );
  assert.throws(
    () => parseJsonl('{"a":1}\n{"a":2}\n[1,2]\n', "preds.jsonl"),
    (e) => e instanceof InputError && e.message === "preds.jsonl:3: expected a JSON object, got an array",
  );
  assert.throws(() => parseJsonl("null\n", "p"), /p:1: expected a JSON object, got null/);
});

Deno.test("toJsonl round-trips through parseJsonl", () => {
  const values = [{ id: "a", label: 1 }, { id: "b", label: 2.5 }];
  assert.deepEqual(parseJsonl(toJsonl(values), "x").map((r) => r.value), values);
});
