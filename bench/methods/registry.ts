/**
 * Every training method, by id. Adding a method means adding its file and one line here; adding a
 * reward (bench/methods/rewards/) adds its GRPO methods (`grpo-<reward>`, `dr-grpo-<reward>`,
 * `reg-grpo-<reward>`) by itself.
 *
 * @module
 */

import { grpoMethods } from "./grpo.ts";
import type { Method } from "./method.ts";
import { REGRESSION_METHODS } from "./regression.ts";
import { sft, sftSoft } from "./sft.ts";
import { pretrain, zeroshot } from "./zeroshot.ts";

export type { Method, MethodFamily } from "./method.ts";

/** Every method, in listing order. */
export const METHODS: readonly Method[] = [
  pretrain,
  zeroshot,
  sft,
  sftSoft,
  ...grpoMethods(),
  ...REGRESSION_METHODS,
];

/** The method ids, in listing order. */
export const METHOD_IDS: readonly string[] = METHODS.map((m) => m.id);

/**
 * The method registered under `id`.
 *
 * @throws {RangeError} For an unknown id, naming the known ones.
 */
export function methodById(id: string): Method {
  const method = METHODS.find((m) => m.id === id);
  if (!method) throw new RangeError(`unknown method "${id}" (known: ${METHOD_IDS.join(", ")})`);
  return method;
}
