import assert from "node:assert/strict";
import { firstNumber, parseAnswer } from "./parse.ts";

const strict = (text: string) => parseAnswer(text, "strict");
const lenient = (text: string) => parseAnswer(text, "lenient");

Deno.test("parseAnswer takes the first number of the first <answer> block", () => {
  assert.deepEqual(strict("<answer>37</answer>"), { value: 37, status: "answer" });
  assert.deepEqual(strict("The person looks about 40. <answer>37</answer>"), { value: 37, status: "answer" });
  assert.deepEqual(strict("<answer>37</answer> <answer>52</answer>"), { value: 37, status: "answer" });
  assert.deepEqual(strict("<answer>37 or 38</answer>"), { value: 37, status: "answer" });
  assert.deepEqual(strict("<answer>about 37 years</answer>"), { value: 37, status: "answer" });
});

Deno.test("parseAnswer accepts spaces, newlines, signs and decimals inside the block", () => {
  assert.equal(strict("<answer> 37 </answer>").value, 37);
  assert.equal(strict("<answer>\n  37\n</answer>").value, 37);
  assert.equal(strict("<answer>-5</answer>").value, -5);
  assert.equal(strict("<answer>+12</answer>").value, 12);
  assert.equal(strict("<answer>37.25</answer>").value, 37.25);
  assert.equal(strict("<answer>37.</answer>").value, 37);
  assert.equal(strict("<answer>.5</answer>").value, 0.5);
  assert.equal(strict("<answer>-.5</answer>").value, -0.5);
  assert.equal(strict("<answer>age=042</answer>").value, 42);
});

Deno.test("parseAnswer follows the contract's number pattern: no exponents, no separators", () => {
  assert.equal(strict("<answer>3e5</answer>").value, 3);
  assert.equal(strict("<answer>1,234</answer>").value, 1);
  assert.equal(strict("<answer>1.2.3</answer>").value, 1.2);
  // A sign separated from its digits is not part of the number.
  assert.equal(strict("<answer>- 5</answer>").value, 5);
});

Deno.test("parseAnswer: no block or no number in the first block is invalid under strict", () => {
  assert.deepEqual(strict("37"), { value: null, status: "invalid" });
  assert.deepEqual(strict(""), { value: null, status: "invalid" });
  assert.deepEqual(strict("<answer>thirty-seven</answer>"), { value: null, status: "invalid" });
  assert.deepEqual(strict("<answer>37"), { value: null, status: "invalid" }); // never closed
  assert.deepEqual(strict("37</answer>"), { value: null, status: "invalid" }); // never opened
  assert.deepEqual(strict("<ANSWER>37</ANSWER>"), { value: null, status: "invalid" }); // tags are exact
  assert.deepEqual(strict("<answer >37</answer>"), { value: null, status: "invalid" });
});

Deno.test("parseAnswer: only the first block counts, even when it is empty", () => {
  assert.deepEqual(strict("<answer></answer><answer>40</answer>"), { value: null, status: "invalid" });
  assert.deepEqual(strict("<answer>n/a</answer>\n<answer>40</answer>"), { value: null, status: "invalid" });
  assert.deepEqual(lenient("<answer></answer><answer>40</answer>"), { value: 40, status: "fallback" });
});

Deno.test("parseAnswer: lenient falls back to the first number anywhere", () => {
  assert.deepEqual(lenient("I'd say 37 years."), { value: 37, status: "fallback" });
  assert.deepEqual(lenient("<answer>unsure</answer> maybe 41"), { value: 41, status: "fallback" });
  assert.deepEqual(lenient("<answer>37</answer> 41"), { value: 37, status: "answer" });
  assert.deepEqual(lenient("no digits at all"), { value: null, status: "invalid" });
});

Deno.test("parseAnswer keeps out-of-range numbers unclamped and rejects overflow", () => {
  assert.equal(strict("<answer>250</answer>").value, 250);
  assert.equal(strict("<answer>-40</answer>").value, -40);
  assert.deepEqual(strict(`<answer>${"9".repeat(400)}</answer>`), { value: null, status: "invalid" });
  assert.equal(firstNumber("x 12 y"), 12);
  assert.equal(firstNumber("none"), null);
});
