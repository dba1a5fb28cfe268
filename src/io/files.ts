/**
 * File helpers shared by the readers and the download code: reading with user-facing errors and
 * atomic writes (temp file + rename, so a crash never leaves a half-written file under the final
 * name).
 * @module
 */
import { resolve } from "node:path";
import { KtError } from "../errors.ts";
import { formatBytes, memoryBytes } from "../memory.ts";

/** How a file the user named cannot be read, as a one-line {@linkcode KtError}. */
function readError(path: string, e: unknown, hint?: string): KtError {
  if (e instanceof KtError) return e;
  // Absolute, so the message says where kt looked whatever the working directory.
  const where = resolve(path);
  if (e instanceof Deno.errors.NotFound) {
    return new KtError("file not found", {
      where,
      hint: hint ?? "check the path (relative paths start at the working directory)",
      cause: e,
    });
  }
  return new KtError(`cannot read file: ${(e as Error).message}`, { where, hint, cause: e });
}

/**
 * The size of the regular file at `path`, checked before anything is opened: a directory, a
 * device (`/dev/zero`), a FIFO or a socket is refused with a one-line {@linkcode KtError}, as is a
 * file larger than this machine's memory.
 */
export async function inputFileSize(path: string, hint?: string): Promise<number> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (e) {
    throw readError(path, e, hint);
  }
  if (!stat.isFile) {
    const what = stat.isDirectory
      ? "a directory"
      : stat.isFifo
      ? "a FIFO (named pipe)"
      : stat.isCharDevice || stat.isBlockDevice
      ? "a device"
      : stat.isSocket
      ? "a socket"
      : "not a regular file";
    throw new KtError(`is ${what}; expected a regular file`, {
      where: path,
      hint: hint ?? "name the data file itself",
    });
  }
  const memory = memoryBytes();
  if (stat.size > memory) {
    throw new KtError(
      `is ${formatBytes(stat.size)}, more than this machine's memory (${formatBytes(memory)})`,
      { where: path, hint: "use a smaller file (a subset of the samples)" },
    );
  }
  return stat.size;
}

/** Reads `length` bytes at `offset` of `path` (fewer at the end of the file), after the checks of {@linkcode inputFileSize}. */
export async function readInputRange(
  path: string,
  offset: number,
  length: number,
  hint?: string,
): Promise<Uint8Array> {
  const size = await inputFileSize(path, hint);
  const n = Math.max(0, Math.min(length, size - offset));
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw readError(path, e, hint);
  }
  try {
    if (!(await file.stat()).isFile) {
      throw new KtError("is not a regular file", { where: path, hint });
    }
    await file.seek(offset, Deno.SeekMode.Start);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const got = await file.read(out.subarray(at));
      if (got === null) break;
      at += got;
    }
    return out.subarray(0, at);
  } catch (e) {
    throw readError(path, e, hint);
  } finally {
    file.close();
  }
}

/**
 * Reads a whole regular file (see {@linkcode inputFileSize}: never a device, FIFO or directory,
 * never more than memory); a missing or unreadable file becomes a one-line {@linkcode KtError}.
 */
export async function readInputFile(path: string, hint?: string): Promise<Uint8Array> {
  const size = await inputFileSize(path, hint);
  const bytes = await readInputRange(path, 0, size + 1, hint);
  if (bytes.length !== size) {
    throw new KtError(`changed while it was read (${bytes.length} of ${size} bytes)`, {
      where: path,
      hint,
    });
  }
  return bytes;
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
