/**
 * Whether the process that holds something (a running sweep, a lock on a cache key) is still
 * there, told by a *life lock*: an exclusive `flock` on a file that the holder keeps while it
 * runs. The kernel drops it when the process ends, however it ends (SIGKILL included), so
 * another process can tell a live holder from a dead one by trying to take the lock — with no
 * permission to look at other processes (Deno's task permissions give none). Where the file
 * system cannot tell (no `flock`), callers go by a heartbeat instead.
 *
 * ```ts
 * import { holdLife, isHeld } from "./liveness.ts";
 * const path = await Deno.makeTempFile();
 * const life = await holdLife(path);
 * console.log(await isHeld(path)); // true: this process holds it
 * life?.release(); // undefined where the file system has no flock
 * console.log(await isHeld(path)); // false
 * await Deno.remove(path);
 * ```
 * @module
 */

/** Who holds something, for messages. */
export interface Holder {
  /** Its process id. */
  pid: number;
  /** Its host's name ("" when unknown). */
  host: string;
}

/** This process as a {@linkcode Holder}. */
export function thisProcess(): Holder {
  let host = "";
  try {
    host = Deno.hostname();
  } catch { /* no --allow-sys: unnamed */ }
  return { pid: Deno.pid, host };
}

/** A life lock this process holds. */
export interface LifeLock {
  /** The open file holding the lock. */
  file: Deno.FsFile;
  /** Drops the lock (closing the file). */
  release(): void;
}

/**
 * Takes the life lock on `file` (an open file), or on the file at `path` (created if needed).
 * Resolves to `undefined` when someone else holds it.
 */
export async function holdLife(target: string | Deno.FsFile): Promise<LifeLock | undefined> {
  const file = typeof target === "string"
    ? await Deno.open(target, { read: true, write: true, create: true })
    : target;
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch {
    locked = true; // no flock here: the heartbeat has to do
  }
  if (!locked) {
    if (typeof target === "string") file.close();
    return undefined;
  }
  let open = true;
  return {
    file,
    release() {
      if (!open) return;
      open = false;
      try {
        file.close();
      } catch { /* already closed */ }
    },
  };
}

/**
 * Whether someone holds the life lock at `path`: `true` (alive), `false` (nobody: its holder
 * ended, or there is no such file), or `undefined` when this file system cannot tell.
 */
export async function isHeld(path: string): Promise<boolean | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    return undefined;
  }
  try {
    const got = await file.tryLock(true);
    return !got;
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * Whether something whose life lock is `held` ({@linkcode isHeld}), last confirmed alive at
 * `heartbeat`, has been abandoned: nobody holds it, or — where that cannot be told — its
 * heartbeat is older than `staleMs`.
 */
export function isAbandoned(
  held: boolean | undefined,
  heartbeat: Date,
  staleMs: number,
  now: Date = new Date(),
): boolean {
  if (held !== undefined) return !held;
  return now.getTime() - heartbeat.getTime() > staleMs;
}
