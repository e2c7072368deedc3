/**
 * The bootstrap flags shared by `eval`, `compare` and `demo`.
 *
 * @module
 */

import { type BootstrapSettings, DEFAULT_BOOTSTRAP } from "../bench/score/bootstrap.ts";
import { intFlag, numberFlag } from "./_cli.ts";

/** The parseArgs options of the bootstrap flags shared by `eval`, `compare` and `demo`. */
export const BOOTSTRAP_OPTIONS = {
  resamples: { type: "string" },
  seed: { type: "string" },
  level: { type: "string" },
} as const;

/** Usage lines of {@linkcode BOOTSTRAP_OPTIONS}. */
export const BOOTSTRAP_USAGE =
  `  --resamples <n>       bootstrap resamples (default ${DEFAULT_BOOTSTRAP.resamples})
  --seed <n>            bootstrap seed (default ${DEFAULT_BOOTSTRAP.seed})
  --level <p>           confidence level (default ${DEFAULT_BOOTSTRAP.level})`;

/** Bootstrap settings from the parsed {@linkcode BOOTSTRAP_OPTIONS} flags, validated. */
export function bootstrapFromFlags(
  values: { resamples?: string; seed?: string; level?: string },
): BootstrapSettings {
  return {
    resamples: intFlag(values.resamples, "resamples", DEFAULT_BOOTSTRAP.resamples, 1),
    seed: intFlag(values.seed, "seed", DEFAULT_BOOTSTRAP.seed),
    level: numberFlag(values.level, "level", DEFAULT_BOOTSTRAP.level, [0, 1]),
  };
}
