/**
 * kt's version (from deno.json) and, in a git checkout, the commit it runs from — recorded with
 * every run so published numbers can name the code that produced them.
 * @module
 */
import denoConfig from "../deno.json" with { type: "json" };

/** kt's version string. */
export const KT_VERSION: string = denoConfig.version;

/** The commit of the checkout kt runs from (read from .git without running git), if any. */
export function ktCommit(): string | undefined {
  const git = new URL("../.git/", import.meta.url);
  try {
    const head = Deno.readTextFileSync(new URL("HEAD", git)).trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    try {
      return Deno.readTextFileSync(new URL(ref, git)).trim();
    } catch {
      const packed = Deno.readTextFileSync(new URL("packed-refs", git));
      return packed.split("\n").find((l) => l.endsWith(` ${ref}`))?.split(" ")[0];
    }
  } catch {
    return undefined;
  }
}
