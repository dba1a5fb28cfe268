/**
 * kt's version (from deno.json) and, in a git checkout, the commit it runs from — recorded with
 * every run so published numbers can name the code that produced them.
 * @module
 */
import denoConfig from "../deno.json" with { type: "json" };

/** kt's version string. */
export const KT_VERSION: string = denoConfig.version;

/**
 * The commit of the checkout kt runs from (read from .git without running git), if any. Works in
 * a plain clone and in a linked worktree (`.git` is then a file naming the worktree's git dir,
 * whose `commondir` holds the shared refs).
 */
export function ktCommit(): string | undefined {
  try {
    let gitDir = new URL("../.git/", import.meta.url);
    let common = gitDir;
    try {
      const pointer = Deno.readTextFileSync(new URL("../.git", import.meta.url)).trim();
      if (pointer.startsWith("gitdir: ")) {
        const dir = pointer.slice(8).trim();
        gitDir = new URL(`${dir.endsWith("/") ? dir : dir + "/"}`, new URL("../", import.meta.url));
        const commonDir = Deno.readTextFileSync(new URL("commondir", gitDir)).trim();
        common = new URL(commonDir.endsWith("/") ? commonDir : commonDir + "/", gitDir);
      }
    } catch {
      // .git is a directory (a plain clone): refs live beside HEAD.
    }
    const head = Deno.readTextFileSync(new URL("HEAD", gitDir)).trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    for (const dir of [gitDir, common]) {
      try {
        return Deno.readTextFileSync(new URL(ref, dir)).trim();
      } catch {
        // not a loose ref here
      }
    }
    const packed = Deno.readTextFileSync(new URL("packed-refs", common));
    return packed.split("\n").find((l) => l.endsWith(` ${ref}`))?.split(" ")[0];
  } catch {
    return undefined;
  }
}

/**
 * What `kt --version` prints: kt's version (and commit, in a checkout), and the Deno running it.
 *
 * @example
 * ```ts
 * import { versionText } from "./version.ts";
 * console.log(versionText()); // kt 0.1.0 (3f2a…)\ndeno 2.9.6 (v8 …, typescript …)
 * ```
 */
export function versionText(): string {
  const commit = ktCommit();
  const { deno, v8, typescript } = Deno.version;
  return `kt ${KT_VERSION}${commit ? ` (${commit.slice(0, 12)})` : ""}\n` +
    `deno ${deno} (v8 ${v8}, typescript ${typescript})`;
}
