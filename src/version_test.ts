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

Deno.test("ktCommit() reads the commit in a linked git worktree too (.git is a file there)", async () => {
  const repo = new URL("..", import.meta.url).pathname;
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: repo, stdout: "piped", stderr: "null" }).output()
      .catch(() => undefined);
  const head = await git("rev-parse", "HEAD");
  if (!head?.success) return; // not a git checkout
  const dir = await Deno.makeTempDir({ prefix: "kt-worktree-" });
  await Deno.remove(dir);
  const added = await git("worktree", "add", "--detach", dir, "HEAD~1");
  if (!added?.success) return; // a shallow clone without HEAD~1: nothing to compare
  try {
    // This checkout's version.ts (HEAD~1's may predate worktree support).
    await Deno.copyFile(new URL("./version.ts", import.meta.url), `${dir}/src/version.ts`);
    const want = (await git("-C", dir, "rev-parse", "HEAD"))!;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { ktCommit } from "${dir}/src/version.ts"; console.log(ktCommit());`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      new TextDecoder().decode(out.stdout).trim(),
      new TextDecoder().decode(want.stdout).trim(),
      new TextDecoder().decode(out.stderr),
    );
  } finally {
    await git("worktree", "remove", "--force", dir);
  }
});
