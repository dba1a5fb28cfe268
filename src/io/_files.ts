/**
 * File helpers shared by the readers and the download code: reading with user-facing errors and
 * atomic writes (temp file + rename, so a crash never leaves a half-written file under the final
 * name).
 * @module
 */
import { KtError } from "../errors.ts";

/** Reads a whole file; a missing or unreadable file becomes a one-line {@linkcode KtError}. */
export async function readInputFile(path: string, hint?: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KtError("file not found", {
        where: path,
        hint: hint ?? "check the path (relative paths start at the working directory)",
        cause: e,
      });
    }
    throw new KtError(`cannot read file: ${(e as Error).message}`, { where: path, hint, cause: e });
  }
}

/** A temp name beside `path`, unique per call, ending in `.tmp` (ignored by git). */
export function tempPathFor(path: string): string {
  const tag = `${Date.now().toString(36)}-${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
  return `${path}.${tag}.tmp`;
}

/** Writes `data` to `path` atomically: a temp file beside it, then a rename. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
}

/** Removes a file or directory tree, ignoring "not found". */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Whether a path exists (any kind). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
