/**
 * The dataset registry: id → adapter. Adding a dataset means adding its file and one line here.
 *
 * @module
 */

import type { DatasetAdapter } from "./adapter.ts";
import { agedbDir } from "./agedb.ts";
import { boneAgeDir } from "./boneage.ts";
import { imdbMovieDir } from "./imdb_movie.ts";
import { imdbWikiDir } from "./imdb_wiki.ts";
import { syntheticDir } from "./synthetic.ts";

/** Every dataset dirbench can prepare, by id. */
export const DATASETS: ReadonlyMap<string, DatasetAdapter> = new Map(
  [
    syntheticDir,
    agedbDir,
    imdbWikiDir,
    imdbMovieDir,
    boneAgeDir,
  ].map((a) => [a.id, a]),
);

/** The adapter of `id`, or an error listing the known ids. */
export function datasetAdapter(id: string): DatasetAdapter {
  const adapter = DATASETS.get(id);
  if (!adapter) throw new RangeError(`unknown dataset "${id}"; known: ${[...DATASETS.keys()].join(", ")}`);
  return adapter;
}
