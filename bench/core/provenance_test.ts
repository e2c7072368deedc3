import assert from "node:assert/strict";
import { gitState } from "./provenance.ts";

Deno.test("gitState: a commit told through DIRBENCH_GIT_COMMIT wins over the .git a copied tree carries", async () => {
  const saved = ["DIRBENCH_GIT_COMMIT", "DIRBENCH_GIT_DIRTY"].map((k) => [k, Deno.env.get(k)] as const);
  try {
    Deno.env.set("DIRBENCH_GIT_COMMIT", "1be3b64");
    Deno.env.set("DIRBENCH_GIT_DIRTY", "1");
    assert.deepEqual(await gitState(), { commit: "1be3b64", dirty: true });
    Deno.env.delete("DIRBENCH_GIT_DIRTY");
    assert.deepEqual(await gitState(), { commit: "1be3b64", dirty: false });
    // Not told: git decides (this checkout), or null outside one.
    Deno.env.delete("DIRBENCH_GIT_COMMIT");
    const state = await gitState();
    assert.ok(state.commit === null || /^[0-9a-f]{40}$/.test(state.commit), `commit ${state.commit}`);
    assert.deepEqual(await gitState("/"), { commit: null, dirty: null });
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
