/**
 * Where raw downloads are kept between `fetch` and `prepare`.
 *
 * @module
 */

import { join } from "node:path";

/**
 * The default cache directory: `$DIRBENCH_CACHE`, else `$XDG_CACHE_HOME/dirbench`, else the platform's user
 * cache (`~/.cache`, `~/Library/Caches`, `%LOCALAPPDATA%`) + `/dirbench`.
 */
export function defaultCacheDir(env: (name: string) => string | undefined = (n) => Deno.env.get(n)): string {
  const explicit = env("DIRBENCH_CACHE");
  if (explicit) return explicit;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "dirbench");
  if (Deno.build.os === "windows") return join(env("LOCALAPPDATA") ?? env("USERPROFILE") ?? ".", "dirbench");
  const home = env("HOME") ?? ".";
  return join(home, Deno.build.os === "darwin" ? "Library/Caches" : ".cache", "dirbench");
}
