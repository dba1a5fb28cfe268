/**
 * Whether the process that holds something (a running sweep, a lock on a cache key) is still
 * there. A holder is its pid, host and — on Linux — its start time, so a pid reused by another
 * process is not mistaken for the holder. From another host nothing can be told: callers then
 * go by a heartbeat (see {@linkcode isStale}).
 * @module
 */

/** Who holds something. */
export interface Holder {
  pid: number;
  host: string;
  /** Start time of the process (clock ticks since boot, from /proc), when known. */
  start?: number;
}

/** The start time of process `pid` from `/proc/<pid>/stat`, or undefined where there is none. */
function procStart(pid: number): number | undefined | "gone" {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      // No such process — if /proc works here at all.
      return procWorks() ? "gone" : undefined;
    }
    return undefined;
  }
  // Field 2 (the command) is in parentheses and may hold spaces: count from the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

let procChecked: boolean | undefined;
function procWorks(): boolean {
  if (procChecked === undefined) {
    try {
      Deno.statSync(`/proc/${Deno.pid}/stat`);
      procChecked = true;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}

/** This process as a {@linkcode Holder}. */
export function thisProcess(): Holder {
  const start = procStart(Deno.pid);
  return {
    pid: Deno.pid,
    host: hostname(),
    ...(typeof start === "number" ? { start } : {}),
  };
}

/**
 * Whether `holder` is still running: `true`/`false` on its own host (where `/proc` tells),
 * `undefined` when it cannot be told (another host, no `/proc`).
 *
 * @example
 * ```ts
 * import { isAlive, thisProcess } from "./liveness.ts";
 * isAlive(thisProcess()); // true (on Linux)
 * ```
 */
export function isAlive(holder: Holder): boolean | undefined {
  if (holder.host !== hostname()) return undefined;
  const start = procStart(holder.pid);
  if (start === "gone") return false;
  if (start === undefined) return undefined;
  return holder.start === undefined || holder.start === start;
}

/**
 * Whether something held by `holder`, last confirmed at `heartbeat`, has been abandoned: its
 * process is gone, or — where that cannot be told — its heartbeat is older than `staleMs`.
 */
export function isStale(
  holder: Holder,
  heartbeat: Date,
  staleMs: number,
  now: Date = new Date(),
): boolean {
  const alive = isAlive(holder);
  if (alive !== undefined) return !alive;
  return now.getTime() - heartbeat.getTime() > staleMs;
}
