import assert from "node:assert/strict";
import { ANSWER_TEMPLATE, answerText, dialogue, promptFor } from "./prompts.ts";

Deno.test("prompts end with the unified answer template", () => {
  assert.equal(ANSWER_TEMPLATE, " Please output the final answer in <answer></answer> tags.");
  assert.equal(
    promptFor("age"),
    "Age estimation: How old is the person in the image? Please answer with only a number." +
      " Please output the final answer in <answer></answer> tags.",
  );
  assert.ok(promptFor("movie-rating").includes("movie\u2019s IMDb rating score"));
  assert.ok(promptFor("movie-rating").includes("(IMDb score \u00d7 10)."));
  assert.ok(promptFor("bone-age").startsWith("You are given a pediatric hand radiograph."));
});

Deno.test("dialogue: user shows the image and asks; the assistant answers in tags", () => {
  assert.equal(answerText(37), "<answer>37</answer>");
  const [user, assistant] = dialogue("synthetic", 12);
  assert.deepEqual(user.content[0], { type: "image" });
  assert.deepEqual(assistant, {
    role: "assistant",
    content: [{ type: "text", text: "<answer>12</answer>" }],
  });
});
