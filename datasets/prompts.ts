/**
 * The paper's prompts, one per task, each followed by the unified answer template, and the dialogue form
 * of a sample (user: image + prompt; assistant: `<answer>{label}</answer>`).
 *
 * @module
 */

/** The tasks of the benchmark; each has one prompt. */
export type TaskId = "age" | "movie-rating" | "bone-age" | "synthetic";

/** Appended to every task prompt, exactly as in the paper (note the leading space). */
export const ANSWER_TEMPLATE = " Please output the final answer in <answer></answer> tags.";

/**
 * The task prompts before the answer template, verbatim from the authors' released annotations
 * (xmed-lab/CCC-GRPO: `data/agedb/*`, `data/imdb_wiki/*`, `data/poster_score/meta/split.py`,
 * `data/boneage/jsonl.py`). The synthetic prompt follows the age prompt's style.
 */
export const TASK_PROMPTS: Readonly<Record<TaskId, string>> = {
  age: "Age estimation: How old is the person in the image? Please answer with only a number.",
  "movie-rating": "You are given a movie poster.\n\n" +
    "Using only the visual cues in the poster, predict the movie\u2019s IMDb rating score as accurately as possible.\n\n" +
    "Return only one integer between 0 and 100 (IMDb score \u00d7 10).",
  "bone-age":
    "You are given a pediatric hand radiograph. Please assess the skeletal age based on the image.\n\n" +
    "Task: Bone age estimation.\n\n" +
    "Definition: Skeletal age is the estimated developmental age of the bones, measured in months.\n\n" +
    "Constraints:\n- Minimum value: 0 months.\n- Maximum value: 216 months.\n- Step value: 1 month.\n\n" +
    "Question: What is the skeletal age (in months) shown in this radiograph? Output a single integer number only.",
  synthetic: "Dot counting: How many round dots are in the image? Please answer with only a number.",
};

/** The full prompt of a task: its question and the answer template. */
export function promptFor(task: TaskId): string {
  return TASK_PROMPTS[task] + ANSWER_TEMPLATE;
}

/** The assistant's answer for a label: `<answer>37</answer>`. */
export function answerText(label: number): string {
  return `<answer>${label}</answer>`;
}

/** One chat message in the Hugging Face multimodal form (TRL, ms-swift). */
export interface Message {
  role: "user" | "assistant";
  content: ({ type: "image" } | { type: "text"; text: string })[];
}

/** The dialogue form of a sample: the user shows the image and asks; the assistant answers. */
export function dialogue(task: TaskId, label: number): Message[] {
  return [
    { role: "user", content: [{ type: "image" }, { type: "text", text: promptFor(task) }] },
    { role: "assistant", content: [{ type: "text", text: answerText(label) }] },
  ];
}
