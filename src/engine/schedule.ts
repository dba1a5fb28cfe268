/**
 * The sweep scheduler's decisions, as pure functions of the jobs' states: which job to skip
 * (an input failed, or the sweep was stopped), which to start next (its inputs are done, a slot is
 * free), when to wait for a running job and when the sweep is over; how a job's result sets its
 * state; how a trial stands given its jobs; how the run ended. `runSweep` (sweep.ts) only carries
 * the decisions out: it starts processes, takes locks and records rows.
 *
 * ```ts
 * import { schedule, type ScheduledJob } from "./schedule.ts";
 * const jobs = new Map<string, ScheduledJob>([
 *   ["t", { key: "t", node: "teacher", after: [], state: "failed", reason: "out of memory" }],
 *   ["s", { key: "s", node: "student", after: ["t"], state: "pending" }],
 * ]);
 * schedule({ jobs, capacity: 2, stopped: false });
 * // { do: "skip", key: "s", reason: 'input "teacher" failed' }
 * ```
 * @module
 */
import type { JobResult } from "../api.ts";
import { KtError } from "../errors.ts";
import type { RunStatus, TrialStatus } from "../results.ts";

/**
 * Where a job stands. `waiting`: another process holds its key's lock (it computes the same job);
 * `cached`: found in the cache, before the sweep or computed meanwhile by another process.
 */
export type JobState = "pending" | "waiting" | "running" | "done" | "cached" | "failed";

/** Why a failed job ended, when it did not fail on its own. */
export type JobEnding = "diverged" | "interrupted";

/** What the scheduler knows of a job. */
export interface ScheduledJob {
  key: string;
  /** Its node's name: a job skipped because this one failed names it. */
  node: string;
  /** Keys of the jobs whose outputs it reads. */
  after: readonly string[];
  state: JobState;
  /** Why it failed. */
  reason?: string;
  ending?: JobEnding;
}

/** The sweep as {@linkcode schedule} sees it. */
export interface ScheduleView {
  /** Every job, each after its inputs (the order jobs are considered in). */
  jobs: ReadonlyMap<string, Readonly<ScheduledJob>>;
  /** Jobs that may run at once (the executor's concurrency), at least 1. */
  capacity: number;
  /** Whether a job may start while its inputs still run (the executor orders them itself). */
  eager?: boolean;
  /** Whether the sweep was stopped: nothing new starts and pending jobs are interrupted. */
  stopped: boolean;
}

/**
 * The scheduler's next step. `skip`: the job can never run (set it failed with this reason and
 * ending); `start`: claim the job and run it (`ready` jobs, this one included, could start now);
 * `wait`: nothing to do until a running or waiting job changes; `finish`: the sweep is over.
 */
export type Decision =
  | { do: "skip"; key: string; reason: string; ending?: "interrupted" }
  | { do: "start"; key: string; ready: number }
  | { do: "wait" }
  | { do: "finish" };

/**
 * The next thing the sweep should do. Skips come first (a pending job whose input failed, or any
 * pending job once the sweep is stopped), then starts (the first ready job, while fewer than
 * `capacity` run), then waiting while any job runs or waits for another process. Applying each
 * decision and asking again runs a sweep to its end.
 *
 * @example
 * ```ts
 * import { schedule, type ScheduledJob } from "./schedule.ts";
 * const jobs = new Map<string, ScheduledJob>([
 *   ["t", { key: "t", node: "teacher", after: [], state: "done" }],
 *   ["a", { key: "a", node: "student", after: ["t"], state: "pending" }],
 *   ["b", { key: "b", node: "student", after: ["t"], state: "pending" }],
 * ]);
 * schedule({ jobs, capacity: 1, stopped: false }); // { do: "start", key: "a", ready: 2 }
 * ```
 */
export function schedule(view: ScheduleView): Decision {
  const { jobs, capacity, stopped } = view;
  if (!(Number.isInteger(capacity) && capacity >= 1)) {
    throw new KtError(
      `the executor runs at most ${capacity} jobs at once; it must run at least 1`,
      {
        hint: "pass --jobs 1 or more (or the executor's own jobs option)",
      },
    );
  }
  const skip = nextSkip(jobs, stopped);
  if (skip) return skip;
  const all = [...jobs.values()];
  const running = all.filter((j) => j.state === "running").length;
  if (!stopped && running < capacity) {
    const ready = readyJobs(jobs, view.eager === true);
    if (ready.length > 0) return { do: "start", key: ready[0], ready: ready.length };
  }
  return running > 0 || all.some((j) => j.state === "waiting") ? { do: "wait" } : { do: "finish" };
}

/** The first pending job that can never run: an input failed, or the sweep was stopped. */
function nextSkip(
  jobs: ScheduleView["jobs"],
  stopped: boolean,
): Extract<Decision, { do: "skip" }> | undefined {
  for (const job of jobs.values()) {
    if (job.state !== "pending") continue;
    const bad = job.after.map((k) => jobs.get(k)!).find((d) => d.state === "failed");
    if (bad) {
      const interrupted = bad.ending === "interrupted";
      return {
        do: "skip",
        key: job.key,
        reason: `input "${bad.node}" ${interrupted ? "was interrupted" : bad.ending ?? "failed"}`,
        ...(interrupted ? { ending: "interrupted" as const } : {}),
      };
    }
    if (stopped) {
      return {
        do: "skip",
        key: job.key,
        reason: "the sweep was interrupted before it ran",
        ending: "interrupted",
      };
    }
  }
  return undefined;
}

/**
 * Keys of the pending jobs whose inputs are done or cached (or, `eager`, running too), in order.
 *
 * @example
 * ```ts
 * import { readyJobs, type ScheduledJob } from "./schedule.ts";
 * const jobs = new Map<string, ScheduledJob>([
 *   ["t", { key: "t", node: "teacher", after: [], state: "running" }],
 *   ["s", { key: "s", node: "student", after: ["t"], state: "pending" }],
 * ]);
 * readyJobs(jobs, false); // []
 * readyJobs(jobs, true); // ["s"]
 * ```
 */
export function readyJobs(jobs: ScheduleView["jobs"], eager: boolean): string[] {
  const ok = (s: JobState) => s === "done" || s === "cached" || (eager && s === "running");
  return [...jobs.values()]
    .filter((j) => j.state === "pending" && j.after.every((k) => ok(jobs.get(k)!.state)))
    .map((j) => j.key);
}

/**
 * A job's state once its executor returned `result`: a failure while the sweep was stopping,
 * without an ending of its own, counts as interrupted rather than failed.
 *
 * @example
 * ```ts
 * import { jobEnd } from "./schedule.ts";
 * jobEnd({ ok: true }, false); // { state: "done" }
 * jobEnd({ ok: false, reason: "killed" }, true);
 * // { state: "failed", reason: "killed", ending: "interrupted" }
 * ```
 */
export function jobEnd(
  result: JobResult,
  stopped: boolean,
): Pick<ScheduledJob, "state" | "reason" | "ending"> {
  if (result.ok) return { state: "done" };
  const ending = result.ending ?? (stopped ? "interrupted" : undefined);
  return { state: "failed", reason: result.reason, ...(ending ? { ending } : {}) };
}

/** How a trial ended. */
export type TrialEnd = Exclude<TrialStatus, "queued" | "running">;

/**
 * How a trial stands given its jobs: a failure or divergence wins over an interruption; all
 * done → `done` (`cached` when none ran now); otherwise `running` while any job runs or waits,
 * else `pending`. Also returns the job that decided a failure.
 *
 * @example
 * ```ts
 * import { trialState } from "./schedule.ts";
 * trialState([{ state: "cached" }, { state: "done" }]); // { state: "done" }
 * trialState([{ state: "failed", ending: "interrupted" }, { state: "failed" }]);
 * // { state: "failed", job: 1 }
 * ```
 */
export function trialState(
  jobs: readonly Pick<ScheduledJob, "state" | "ending">[],
): { state: TrialEnd | "running" | "pending"; job?: number } {
  const failed = jobs.findIndex((j) => j.state === "failed" && j.ending !== "interrupted");
  if (failed >= 0) {
    return { state: jobs[failed].ending === "diverged" ? "diverged" : "failed", job: failed };
  }
  const interrupted = jobs.findIndex((j) => j.state === "failed");
  if (interrupted >= 0) return { state: "interrupted", job: interrupted };
  if (jobs.every((j) => j.state === "done" || j.state === "cached")) {
    return { state: jobs.some((j) => j.state === "done") ? "done" : "cached" };
  }
  return {
    state: jobs.some((j) => j.state === "running" || j.state === "waiting") ? "running" : "pending",
  };
}

/**
 * How a run ended given its trials' recorded statuses: a trial still `queued` or `running` did
 * not finish, so it counts as interrupted; any interruption (or a stopped sweep) makes the run
 * `interrupted`, else any failure or divergence `failed`, else `finished`.
 *
 * @example
 * ```ts
 * import { runEnd } from "./schedule.ts";
 * runEnd(["done", "diverged"], false); // { status: "failed", trials: ["done", "diverged"] }
 * runEnd(["done", "queued"], false); // { status: "interrupted", trials: ["done", "interrupted"] }
 * ```
 */
export function runEnd(
  recorded: readonly TrialStatus[],
  stopped: boolean,
): { status: RunStatus; trials: TrialEnd[] } {
  const trials = recorded.map((s): TrialEnd =>
    s === "queued" || s === "running" ? "interrupted" : s
  );
  const status: RunStatus = stopped || trials.includes("interrupted")
    ? "interrupted"
    : trials.some((s) => s === "failed" || s === "diverged")
    ? "failed"
    : "finished";
  return { status, trials };
}

/**
 * Kernel threads for a job started while `running` jobs run and `ready` jobs (this one included)
 * could start, with `jobs` allowed at once on `cores` cores: the cores ÷ the jobs that will share
 * them, so a job that runs alone (e.g. the teacher every student waits for) gets them all.
 * Results do not depend on it.
 *
 * @example
 * ```ts
 * import { jobThreads } from "./schedule.ts";
 * console.log(jobThreads(2, 2, 0, 1)); // 2: the only runnable job
 * console.log(jobThreads(2, 2, 0, 6)); // 1
 * ```
 */
export function jobThreads(cores: number, jobs: number, running: number, ready: number): number {
  const sharing = Math.max(1, Math.min(jobs, running + ready));
  return Math.max(1, Math.floor(cores / sharing));
}
