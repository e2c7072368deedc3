/**
 * Provenance: what produced a result, so anyone can tell how to get the same numbers again.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import denoConfig from "../../deno.json" with { type: "json" };

/** The dirbench version, from deno.json. */
export const DIRBENCH_VERSION: string = denoConfig.version;

/** The GPU adapter a result was computed on, when one was used. */
export interface AdapterInfo {
  /** The adapter's description (vendor, device, driver). */
  description: string;
  /** Whether it is a software fallback (llvmpipe, lavapipe). */
  fallback: boolean;
  /** Backend, e.g. "deno-webgpu" or "dawn". */
  backend?: string;
}

/** Where a result came from. */
export interface Provenance {
  /** dirbench version. */
  dirbench: string;
  /** The dirbench checkout's commit and whether it had uncommitted changes (null when not a git checkout). */
  git: { commit: string | null; dirty: boolean | null };
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** Operating system and architecture. */
  os: string;
  /** ISO 8601 time the result was produced. */
  date: string;
  /** Every seed that influenced the result, by purpose. */
  seeds: Record<string, number>;
  /** The GPU adapter, or null for work done on the CPU only. */
  adapter: AdapterInfo | null;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The commit of the dirbench checkout (not of the caller's working directory) and its dirty flag.
 * `DIRBENCH_GIT_COMMIT` (with `DIRBENCH_GIT_DIRTY=1` for a dirty tree), when set, is taken over git: a copy
 * of the tree shipped elsewhere (a GPU machine) may carry a `.git` that does not match it. Otherwise git
 * decides; without git (unavailable, not permitted, or not a checkout) the fields are null.
 */
export async function gitState(dir = REPO_ROOT): Promise<Provenance["git"]> {
  const told = Deno.env.get("DIRBENCH_GIT_COMMIT");
  if (told) return { commit: told, dirty: Deno.env.get("DIRBENCH_GIT_DIRTY") === "1" };
  try {
    const run = async (...args: string[]) => {
      const out = await new Deno.Command("git", {
        args: ["-C", dir, ...args],
        stdout: "piped",
        stderr: "null",
      })
        .output();
      if (!out.success) throw new Error(`git ${args.join(" ")} failed`);
      return new TextDecoder().decode(out.stdout).trim();
    };
    const commit = await run("rev-parse", "HEAD");
    const status = await run("status", "--porcelain", "--untracked-files=no");
    return { commit, dirty: status !== "" };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Collects the provenance of a result produced now. */
export async function collectProvenance(
  options: { seeds?: Record<string, number>; adapter?: AdapterInfo | null; date?: Date } = {},
): Promise<Provenance> {
  return {
    dirbench: DIRBENCH_VERSION,
    git: await gitState(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os}-${Deno.build.arch}`,
    date: (options.date ?? new Date()).toISOString(),
    seeds: options.seeds ?? {},
    adapter: options.adapter ?? null,
  };
}
