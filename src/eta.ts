/**
 * The time left of a sweep, from the throughput measured so far, smoothed so it counts down
 * steadily instead of jumping with each finished job.
 *
 * Each job has a *kind* (its plugin: `trained-network`, `transfer`, `evaluate`, ...). A kind's
 * expected duration is the mean duration of its finished jobs (before one has finished: the mean
 * over all finished jobs; a running job that has already taken longer is expected to take at
 * least that long). The raw estimate is the expected work left — waiting jobs in full, running
 * ones minus their elapsed time — divided by the jobs that can run at once. The shown value
 * counts down with the clock and moves toward the raw estimate with a time constant of
 * {@linkcode ETA_SMOOTHING_SECONDS}, so one long or short job moves it a little, a lasting
 * change in throughput moves it fully within about half a minute. When a kind is measured for
 * the first time the estimate has new information, not noise: the shown value jumps to it.
 *
 * ```ts
 * import { createEta } from "./eta.ts";
 * const eta = createEta({ parallel: 2 });
 * for (const key of ["a", "b", "c", "d"]) eta.plan(key, "transfer");
 * eta.started("a", 0);
 * eta.started("b", 0);
 * eta.seconds(1); // undefined: nothing finished yet, no throughput measured
 * eta.ended("a", 10);
 * eta.ended("b", 10);
 * eta.seconds(10); // 10: two 10 s jobs left, two at a time
 * ```
 * @module
 */

/** How fast the shown ETA follows the raw estimate (seconds, exponential time constant). */
export const ETA_SMOOTHING_SECONDS = 10;

/** Options of {@linkcode createEta}. */
export interface EtaOptions {
  /** Jobs that run at once. */
  parallel: number;
}

/** Tracks jobs and estimates the seconds left. Times are in seconds on any monotonic clock. */
export interface Eta {
  /** A job to run, of `kind`. */
  plan(key: string, kind: string): void;
  started(key: string, now: number): void;
  /** A job finished (or failed: its time still measures throughput). */
  ended(key: string, now: number): void;
  /** A planned job that will not run (its trial was stopped, it was found in the cache). */
  dropped(key: string): void;
  /** Seconds left, smoothed; `undefined` until a job has finished. */
  seconds(now: number): number | undefined;
}

/**
 * An ETA estimator (see the module doc).
 *
 * @example
 * ```ts
 * import { createEta } from "./eta.ts";
 * const eta = createEta({ parallel: 1 });
 * eta.plan("a", "x");
 * eta.seconds(0); // undefined
 * ```
 */
export function createEta(options: EtaOptions): Eta {
  const parallel = Math.max(1, options.parallel);
  const jobs = new Map<string, { kind: string; started?: number }>();
  const measured = new Map<string, { total: number; count: number }>();
  let all = { total: 0, count: 0 };
  let shown: { value: number; at: number } | undefined;
  /** A kind was measured for the first time since the last reading. */
  let fresh = false;

  const expected = (kind: string): number => {
    const m = measured.get(kind);
    return m ? m.total / m.count : all.total / all.count;
  };
  const raw = (now: number): number => {
    let work = 0;
    for (const job of jobs.values()) {
      const e = expected(job.kind);
      work += job.started === undefined ? e : Math.max(e - (now - job.started), 0);
    }
    return jobs.size === 0 ? 0 : work / Math.min(parallel, jobs.size);
  };
  return {
    plan(key, kind) {
      jobs.set(key, { kind });
    },
    started(key, now) {
      const job = jobs.get(key);
      if (job) job.started = now;
    },
    ended(key, now) {
      const job = jobs.get(key);
      if (!job) return;
      jobs.delete(key);
      if (job.started === undefined) return;
      const seconds = Math.max(now - job.started, 0);
      if (!measured.has(job.kind)) fresh = true;
      const m = measured.get(job.kind) ?? { total: 0, count: 0 };
      measured.set(job.kind, { total: m.total + seconds, count: m.count + 1 });
      all = { total: all.total + seconds, count: all.count + 1 };
    },
    dropped(key) {
      jobs.delete(key);
    },
    seconds(now) {
      if (all.count === 0) return undefined;
      const target = raw(now);
      if (jobs.size === 0) {
        shown = { value: 0, at: now };
        return 0;
      }
      if (!shown || fresh) {
        fresh = false;
        shown = { value: target, at: now };
        return target;
      }
      const dt = Math.max(now - shown.at, 0);
      const counted = Math.max(shown.value - dt, 0);
      const w = 1 - Math.exp(-dt / ETA_SMOOTHING_SECONDS);
      shown = { value: counted + w * (target - counted), at: now };
      return shown.value;
    },
  };
}
