import assert from "node:assert/strict";
import { KT_VERSION, ktCommit } from "./version.ts";

Deno.test("ktCommit() reads the checkout's HEAD commit like `git rev-parse HEAD`", async () => {
  const out = await new Deno.Command("git", {
    args: ["rev-parse", "HEAD"],
    cwd: new URL(".", import.meta.url).pathname,
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!out?.success) return; // not a git checkout (e.g. an unpacked archive): nothing to compare
  assert.equal(ktCommit(), new TextDecoder().decode(out.stdout).trim());
  assert.match(KT_VERSION, /^\d+\.\d+\.\d+/);
});
