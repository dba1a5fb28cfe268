/**
 * One lock per cache key, shared by every process that uses a cache directory, so concurrent
 * sweeps never compute the same job twice: `<cacheDir>/locks/<key>.lock`, created atomically
 * (written aside, then hard-linked into place, which fails when it exists), naming its holder's
 * pid and host. The holder keeps an exclusive `flock` on it (taken before the link, so there is
 * no moment without it), which the kernel drops when the holder dies; its mtime is a heartbeat,
 * refreshed while held.
 *
 * A crashed holder cannot keep it: a lock nobody holds the `flock` of ({@linkcode isHeld}) — or,
 * on a file system without `flock`, whose heartbeat is older than `staleMs` — is broken by the
 * next process that wants it.
 *
 * ```ts
 * import { tryLockKey } from "./key_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const key = "ab".repeat(32);
 * const lock = await tryLockKey(dir, key);
 * if ("release" in lock) {
 *   console.log("heldBy" in await tryLockKey(dir, key)); // true: one holder at a time
 *   await lock.release();
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { join } from "node:path";
import {
  type Holder,
  holdLife,
  isAbandoned,
  isHeld,
  type LifeLock,
  thisProcess,
} from "./liveness.ts";

/** A held lock. */
export interface KeyLock {
  key: string;
  /** Stops the heartbeat and removes the lock (if it is still this one). */
  release(): Promise<void>;
}

/** Someone else's lock. */
export interface HeldLock {
  heldBy: Holder & { since: string };
}

/** Options of {@linkcode tryLockKey}. */
export interface LockOptions {
  /** Heartbeat age after which a lock counts as abandoned where `flock` cannot tell (default 60 s). */
  staleMs?: number;
  /** How often a held lock's heartbeat is refreshed (default 5 s). */
  heartbeatMs?: number;
}

interface LockFile extends Holder {
  key: string;
  since: string;
  nonce: string;
}

const LOCKS = "locks";

/** Path of the lock of `key` in cache directory `cacheDir`. */
export function lockPath(cacheDir: string, key: string): string {
  return join(cacheDir, LOCKS, `${key}.lock`);
}

async function readLock(path: string): Promise<{ lock?: LockFile; mtime: Date } | undefined> {
  try {
    const [text, stat] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
    let lock: LockFile | undefined;
    try {
      lock = JSON.parse(text);
    } catch { /* unreadable: judged by its age alone */ }
    return { lock, mtime: stat.mtime ?? new Date(0) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Takes the lock of `key`, or says who holds it. A stale lock (its holder gone) is broken and
 * taken.
 */
export async function tryLockKey(
  cacheDir: string,
  key: string,
  options: LockOptions = {},
): Promise<KeyLock | HeldLock> {
  const staleMs = options.staleMs ?? 60_000;
  const path = lockPath(cacheDir, key);
  await Deno.mkdir(join(cacheDir, LOCKS), { recursive: true });
  const mine: LockFile = {
    ...thisProcess(),
    key,
    since: new Date().toISOString(),
    nonce: crypto.randomUUID(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = `${path}.${mine.nonce}.tmp`;
    const file = await Deno.open(tmp, { read: true, write: true, createNew: true });
    let life: LifeLock | undefined;
    try {
      await file.write(new TextEncoder().encode(JSON.stringify(mine)));
      life = await holdLife(file);
      await Deno.link(tmp, path);
      return held(path, mine, life!, options.heartbeatMs ?? 5_000);
    } catch (e) {
      if (life) life.release(); // closes the file
      else file.close();
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    const found = await readLock(path);
    if (!found) continue; // released meanwhile: try again
    if (!isAbandoned(await isHeld(path), found.mtime, staleMs)) {
      return {
        heldBy: { pid: -1, host: "", since: found.mtime.toISOString(), ...found.lock },
      };
    }
    await breakLock(path, found.lock?.nonce);
  }
  const found = await readLock(path);
  return { heldBy: { pid: -1, host: "", since: "", ...found?.lock } };
}

/** Moves an abandoned lock aside; puts it back if it turned out to be a fresh one. */
async function breakLock(path: string, nonce: string | undefined): Promise<void> {
  const aside = `${path}.${crypto.randomUUID()}.stale`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const moved = await readLock(aside);
  if (moved?.lock && moved.lock.nonce !== nonce) {
    // Another process broke the same lock and took the key a moment ago: give it back.
    await Deno.link(aside, path).catch(() => {});
  }
  await Deno.remove(aside).catch(() => {});
}

function held(path: string, mine: LockFile, life: LifeLock, heartbeatMs: number): KeyLock {
  const beat = setInterval(() => {
    const now = new Date();
    Deno.utime(path, now, now).catch(() => {});
  }, heartbeatMs);
  Deno.unrefTimer(beat);
  return {
    key: mine.key,
    async release() {
      clearInterval(beat);
      const found = await readLock(path);
      if (found?.lock?.nonce === mine.nonce) await Deno.remove(path).catch(() => {});
      life.release();
    },
  };
}
