/**
 * Test helpers for the training methods: a model small enough for a few seconds per method on the
 * software adapter.
 *
 * @module
 */

/** `--set` overrides that shrink the model to a 1-layer d16 transformer on 8×8 images (4 patches). */
export const TINY_MODEL: readonly string[] = [
  "model.image=8",
  "model.patch=4",
  "model.dim=16",
  "model.heads=2",
  "model.layers=1",
  "model.textLength=6",
];
