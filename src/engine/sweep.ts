/**
 * The sweep scheduler: expands an experiment's trials into one job per distinct step node
 * (identical nodes across trials merge into one job: one teacher training, one feature
 * extraction), skips what the cache already holds, runs the rest in dependency order with bounded
 * parallelism through an executor, and records per-trial status, metrics and curves in the
 * results database. A failing job fails only the trials that need it. The metrics of reference
 * nodes (the teacher's and plain student's evaluations) are recorded apart from the method's.
 * @module
 */
import type { ExecutorPlugin, JobEvents, JobResult, JobSpec } from "../api.ts";
import { type Cache, openCache } from "../cache.ts";
import type { JsonValue } from "../canonical.ts";
import { type LoadedExperiment, type Trial, trialConfig } from "../config/mod.ts";
import { KtError } from "../errors.ts";
import { openResults, type ReferenceRow, runLockPath, type RunStatus } from "../results.ts";
import { type HeldLock, type KeyLock, tryLockKey } from "../key_lock.ts";
import { holdLife, thisProcess } from "../liveness.ts";
import { KT_VERSION, ktCommit } from "../version.ts";
import { provenanceContext } from "../provenance.ts";
import { type NodePlan, planTrial, stepDependencies } from "./execute.ts";
import { jobWork } from "./job.ts";
import { type MetricsNode, metricsNodes } from "./references.ts";
import { createSweepProgress, jobLabel } from "./sweep_progress.ts";

/** Options of {@linkcode runSweep}. */
export interface SweepOptions {
  cacheDir: string;
  runDir: string;
  /** Parallel jobs (default: number of cores). */
  jobs: number;
  executor: ExecutorPlugin<unknown>;
  executorOptions?: unknown;
  /** Starts a worker process for a job (the entry point knows its own path). */
  workerCommand: (job: JobSpec) => { command: string; args: string[]; stdin: string };
  /** Computes a job in this process. */
  runInProcess: (job: JobSpec, events: JobEvents) => Promise<JobResult>;
  /**
   * Aborting stops scheduling and cancels what the executor runs; the unfinished trials are
   * marked interrupted and the run too.
   */
  signal?: AbortSignal;
  /**
   * Ctrl-C (SIGINT) handling: `"ask"` asks on the terminal whether to stop, `"stop"` stops at
   * once (as aborting `signal` does); a second Ctrl-C exits with 130 at once. Default: SIGINT is
   * not handled here.
   */
  interrupt?: "ask" | "stop";
  /** How often a job computed by another process is checked on, in ms (default 250). */
  lockPollMs?: number;
  /** How often the run records that its sweep is alive, in ms (default 5000). */
  heartbeatMs?: number;
  /** Progress on a TTY (default: whether stderr is one). */
  tty?: boolean;
  /** A progress line for every job event too (default: quiet). */
  verbose?: boolean;
  log?: (line: string) => void;
}

/** How one trial ended. */
export interface TrialOutcome {
  id: string;
  label: string;
  params: Record<string, JsonValue>;
  seed: number;
  status: "done" | "cached" | "failed" | "diverged" | "interrupted";
  reason?: string;
  metrics: Record<string, number>;
  /** The references (teacher, plain student) measured in this trial. */
  references: ReferenceRow[];
}

/**
 * Kernel threads for a job started while `running` jobs run and `ready` jobs (this one included)
 * could start, with `jobs` allowed at once on `cores` cores: the cores ÷ the jobs that will share
 * them, so a job that runs alone (e.g. the teacher every student waits for) gets them all.
 * Results do not depend on it.
 *
 * @example
 * ```ts
 * import { jobThreads } from "./sweep.ts";
 * console.log(jobThreads(2, 2, 0, 1)); // 2: the only runnable job
 * console.log(jobThreads(2, 2, 0, 6)); // 1
 * ```
 */
export function jobThreads(cores: number, jobs: number, running: number, ready: number): number {
  const sharing = Math.max(1, Math.min(jobs, running + ready));
  return Math.max(1, Math.floor(cores / sharing));
}

/** What {@linkcode runSweep} did. */
export interface SweepReport {
  runId: number;
  runDir: string;
  /** How the run ended: `finished`, `failed` (some trial failed or diverged) or `interrupted`. */
  status: RunStatus;
  trials: TrialOutcome[];
  /** Jobs whose plugin actually ran, by plugin name (cache hits excluded). */
  executed: Record<string, number>;
  /** Jobs found in the cache (including those another process computed meanwhile). */
  cached: number;
  /** Jobs another process (a concurrent sweep on the same cache) computed while this one ran. */
  reused: number;
  /** Seconds spent reading and verifying the cached jobs' artifacts. */
  cacheReadSeconds: number;
  /** Seconds computing the cached artifacts took when they were made (where recorded). */
  cachedComputeSeconds: number;
  /** Trials that failed or diverged. */
  failed: number;
  /** Trials left unfinished because the sweep was stopped. */
  interrupted: number;
  seconds: number;
}

interface Job {
  spec: JobSpec;
  plugin: string;
  /** `waiting`: another process holds its key's lock (it computes the same job). */
  state: "pending" | "waiting" | "running" | "done" | "cached" | "failed";
  reason?: string;
  /** Why a failed job ended, when it did not fail on its own. */
  ending?: "diverged" | "interrupted";
  /** Trials that include this job, with the node's name in each. */
  users: { trial: Trial; node: string }[];
}

/** Hosts named by http(s) URLs in dataset node options: the only network a worker may reach. */
export function downloadHosts(trials: Trial[]): string[] {
  const hosts = new Set<string>();
  const visit = (v: unknown) => {
    if (typeof v === "string" && /^https?:\/\//.test(v)) {
      try {
        hosts.add(new URL(v).host);
      } catch { /* not a URL */ }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  for (const t of trials) {
    for (const node of Object.values(t.graph.nodes)) {
      if (node.kind === "dataset") visit(node.options);
    }
  }
  return [...hosts].sort();
}

/**
 * Metrics of a trial: every method metrics node's output (prefixed with the node's name when
 * there are several), and apart from them each reference node's.
 */
async function trialMetrics(
  nodes: readonly MetricsNode[],
  cache: Cache,
): Promise<{ metrics: Record<string, number>; references: ReferenceRow[] }> {
  const methodNodes = nodes.filter((n) => n.reference === undefined).length;
  const metrics: Record<string, number> = {};
  const references: ReferenceRow[] = [];
  for (const { node, key, reference } of nodes) {
    const artifact = await cache.get(key);
    if (!artifact) throw new KtError(`metrics of node "${node}" are missing from the cache`);
    const values = await artifact.readJson("metrics.json") as Record<string, number>;
    if (reference !== undefined) references.push({ node, label: reference, key, metrics: values });
    else {for (const [k, v] of Object.entries(values)) {
        metrics[methodNodes > 1 ? `${node}.${k}` : k] = v;
      }}
  }
  return { metrics, references };
}

/**
 * How a trial stands given its jobs: a failure or divergence wins over an interruption; all
 * done → `done` (`cached` when none ran now); otherwise `running` while any job runs or waits,
 * else `pending`. Also returns the job that decided a failure.
 */
export function trialState(
  jobs: readonly Pick<Job, "state" | "ending">[],
): { state: TrialOutcome["status"] | "running" | "pending"; job?: number } {
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

/** Runs (or resumes) a sweep; see the module doc. */
export async function runSweep(loaded: LoadedExperiment, opts: SweepOptions): Promise<SweepReport> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => console.error(l));
  const { experiment, trials } = loaded;
  const cache = await openCache(opts.cacheDir, {
    onCorrupt: (key, reason) =>
      log(`cache: artifact ${key.slice(0, 12)} is corrupt (${reason}); recomputing`),
  });
  const netHosts = downloadHosts(trials);
  // Cores left to each job's own kernel threads when `jobs` run at once (e.g. 1 job on 2 cores: 2).
  const cores = navigator.hardwareConcurrency || 1;
  const threads = jobThreads(cores, opts.jobs, 0, opts.jobs);

  // Plan: one job per distinct step-node key.
  const provenance = await provenanceContext(experiment, trials, opts.cacheDir);
  const jobs = new Map<string, Job>();
  const trialPlans = new Map<string, Map<string, NodePlan>>();
  const trialJobs = new Map<string, string[]>();
  for (const trial of trials) {
    const plans = planTrial(trial, provenance);
    trialPlans.set(trial.id, plans);
    const keys: string[] = [];
    for (const name of trial.graph.order) {
      const plan = plans.get(name)!;
      if (plan.node.kind !== "step") continue;
      keys.push(plan.key);
      const job = jobs.get(plan.key);
      if (job) {
        job.users.push({ trial, node: name });
        continue;
      }
      jobs.set(plan.key, {
        spec: {
          key: plan.key,
          node: name,
          trialId: trial.id,
          label: trial.label,
          after: stepDependencies(trial, name).map((d) => plans.get(d)!.key),
          file: experiment.file,
          cacheDir: opts.cacheDir,
          runDir: opts.runDir,
          netHosts,
          threads,
          work: jobWork(trial, plans, name, experiment),
        },
        plugin: plan.node.use,
        state: "pending",
        users: [{ trial, node: name }],
      });
    }
    trialJobs.set(trial.id, keys);
  }
  const trialMetricsNodes = metricsNodes(trials, trialPlans);

  // What the cache already holds (verified: a corrupt artifact is removed and recomputed).
  let cacheReadSeconds = 0;
  let cachedComputeSeconds = 0;
  for (const job of jobs.values()) {
    const t = performance.now();
    const found = await cache.lookup(job.spec.key);
    if (found.status === "hit") {
      job.state = "cached";
      cacheReadSeconds += (performance.now() - t) / 1000;
      const computed = found.artifact.manifest.info.computeSeconds;
      if (typeof computed === "number") cachedComputeSeconds += computed;
    }
  }

  const db = openResults(opts.runDir);
  const runId = db.startRun({
    experiment: experiment.name,
    file: experiment.file,
    ktVersion: KT_VERSION,
    ktCommit: ktCommit(),
    holder: thisProcess(),
  });
  // Held while this sweep lives (the kernel drops it if the sweep is killed): `kt results` tells
  // a running run from one whose sweep is gone by it.
  const lifePath = runLockPath(opts.runDir, runId);
  const life = await holdLife(lifePath);
  // A sign of life, so a reader can tell this run from one whose sweep was killed.
  const heartbeat = setInterval(() => {
    try {
      db.heartbeat(runId);
    } catch { /* busy or closed: the next beat will do */ }
  }, opts.heartbeatMs ?? 5_000);
  Deno.unrefTimer(heartbeat);
  const trialRows = new Map<string, number>();
  const ids = db.addTrials(
    runId,
    trials.map((t) => ({
      label: t.label,
      params: t.params as Record<string, JsonValue>,
      seed: t.seed,
      status: "queued" as const,
      config: trialConfig(t),
    })),
  );
  trials.forEach((t, i) => trialRows.set(t.id, ids[i]));

  const executor = opts.executor.create(opts.executorOptions ?? {}, {
    jobs: opts.jobs,
    workerCommand: opts.workerCommand,
    runInProcess: opts.runInProcess,
    log,
  });
  const progress = createSweepProgress({
    trials: trials.length,
    jobs: jobs.size,
    cachedJobs: [...jobs.values()].filter((j) => j.state === "cached").length,
    pending: [...jobs.values()].filter((j) => j.state !== "cached").map((j) => ({
      key: j.spec.key,
      kind: j.plugin,
    })),
    parallel: executor.concurrency,
    tty: opts.tty,
    verbose: opts.verbose,
    log,
  });
  const executed: Record<string, number> = {};
  let reused = 0;

  const finishedTrials = new Set<string>();
  const runningTrials = new Set<string>();
  const settleTrials = async () => {
    for (const trial of trials) {
      if (finishedTrials.has(trial.id)) continue;
      const states = trialJobs.get(trial.id)!.map((k) => jobs.get(k)!);
      const { state, job } = trialState(states);
      const rowId = trialRows.get(trial.id)!;
      if (state === "failed" || state === "diverged" || state === "interrupted") {
        finishedTrials.add(trial.id);
        const reason = `${states[job!].spec.node}: ${states[job!].reason}`;
        db.setTrialStatus(rowId, state, { reason });
        progress.trialEnded(trial.label, state, states[job!].reason);
      } else if (state === "done" || state === "cached") {
        finishedTrials.add(trial.id);
        try {
          const { metrics, references } = await trialMetrics(
            trialMetricsNodes.get(trial.id)!,
            cache,
          );
          db.recordMetrics(rowId, metrics, references);
          db.setTrialStatus(rowId, state);
          progress.trialEnded(trial.label, state);
        } catch (err) {
          db.setTrialStatus(rowId, "failed", { reason: (err as Error).message });
          progress.trialEnded(trial.label, "failed", (err as Error).message);
        }
      } else if (state === "running" && !runningTrials.has(trial.id)) {
        runningTrials.add(trial.id);
        db.setTrialStatus(rowId, "running");
      }
    }
  };

  const abort = new AbortController();
  const stopped = () => abort.signal.aborted;
  const running = new Map<string, Promise<void>>();
  const start = (job: Job, ready: number, lock: KeyLock) => {
    job.state = "running";
    job.spec = { ...job.spec, threads: jobThreads(cores, opts.jobs, running.size, ready) };
    progress.jobStarted(
      job.spec.key,
      jobLabel(
        job.spec.node,
        job.users.map((u) => ({ label: u.trial.label, params: u.trial.params })),
      ),
    );
    const events: JobEvents = {
      curve: (point) => {
        // Evaluation points (`eval:<metric>`, see eval_curve.ts) are not training progress.
        if (!point.phase?.startsWith("eval:")) progress.jobCurve(job.spec.key, point);
        for (const u of job.users) {
          db.recordEpoch(trialRows.get(u.trial.id)!, { node: u.node, ...point });
        }
      },
      log: (line) => progress.log(line),
    };
    const p = executor.run(job.spec, events).catch((err): JobResult => ({
      ok: false,
      reason: err instanceof KtError ? err.format() : String(err),
    })).then(async (result) => {
      await lock.release();
      running.delete(job.spec.key);
      if (result.ok) {
        job.state = "done";
        executed[job.plugin] = (executed[job.plugin] ?? 0) + 1;
      } else {
        job.state = "failed";
        job.reason = result.reason;
        // Stopped by the user (or a cancel) rather than failing on its own.
        job.ending = result.ending ?? (stopped() ? "interrupted" : undefined);
      }
      progress.jobEnded(job.spec.key, job.reason, job.ending);
    });
    running.set(job.spec.key, p);
  };

  // Jobs another process (a concurrent sweep on this cache) holds the lock of: polled until the
  // lock is free, then taken from the cache if it was stored, else run here.
  const waiting = new Map<string, Promise<void>>();
  const wait = (job: Job, holder: HeldLock["heldBy"]) => {
    job.state = "waiting";
    progress.log(
      `waiting: ${job.spec.node} (${job.spec.label}) is being computed by another process ` +
        `(pid ${holder.pid} on ${holder.host || "?"})`,
    );
    const poll = async () => {
      while (!stopped()) {
        await new Promise((r) => setTimeout(r, opts.lockPollMs ?? 250));
        const found = await cache.check(job.spec.key);
        if (found.status === "hit") {
          job.state = "cached";
          reused++;
          progress.jobSkipped(job.spec.key);
          progress.log(`reused: ${job.spec.node} (${job.spec.label}), computed by another process`);
          return;
        }
        const lock = await tryLockKey(opts.cacheDir, job.spec.key);
        if ("release" in lock) {
          // Free, and not stored (its holder failed or was stopped): it is ours to run.
          await lock.release();
          job.state = "pending";
          return;
        }
      }
      job.state = "failed";
      job.reason = "the sweep was interrupted while it waited for another process";
      job.ending = "interrupted";
    };
    waiting.set(job.spec.key, poll().finally(() => waiting.delete(job.spec.key)));
  };

  /** Takes `job`'s key lock and starts it; a key computed or held elsewhere is not run here. */
  const claim = async (job: Job, ready: number): Promise<boolean> => {
    const lock = await tryLockKey(opts.cacheDir, job.spec.key);
    if (!("release" in lock)) {
      wait(job, lock.heldBy);
      return false;
    }
    // Another process may have stored it since the plan looked.
    if ((await cache.check(job.spec.key)).status === "hit") {
      await lock.release();
      job.state = "cached";
      reused++;
      progress.jobSkipped(job.spec.key);
      return false;
    }
    start(job, ready, lock);
    return true;
  };

  const onAbort = () => {
    log("stopping: no new jobs; stopping the running ones");
    executor.cancel?.().catch((err) => log(`cancel failed: ${(err as Error).message}`));
  };
  abort.signal.addEventListener("abort", onAbort, { once: true });
  const forward = () => abort.abort();
  opts.signal?.addEventListener("abort", forward, { once: true });
  if (opts.signal?.aborted) abort.abort();
  // Ctrl-C: (ask, then) stop; a second Ctrl-C leaves at once, the run marked interrupted.
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1 || stopped()) {
      progress.close();
      db.markInterrupted(runId, "the sweep was stopped (second Ctrl-C)");
      Deno.removeSync(lifePath);
      Deno.exit(130);
    }
    if (opts.interrupt === "ask") {
      progress.pause();
      const yes = confirm(
        "\nstop this sweep? (running jobs are stopped; their trials are marked interrupted)",
      );
      progress.resume();
      if (!yes) {
        interrupts = 0;
        return;
      }
    }
    abort.abort();
  };
  if (opts.interrupt) Deno.addSignalListener("SIGINT", onSigint);
  try {
    await settleTrials();
    while (true) {
      // Jobs whose inputs failed can never run; stopped, nothing new starts.
      let changed = true;
      while (changed) {
        changed = false;
        for (const job of jobs.values()) {
          if (job.state !== "pending") continue;
          const bad = job.spec.after.map((k) => jobs.get(k)!).find((d) => d.state === "failed");
          if (bad) {
            job.state = "failed";
            job.reason = `input "${bad.spec.node}" ${
              bad.ending === "interrupted" ? "was interrupted" : bad.ending ?? "failed"
            }`;
            job.ending = bad.ending === "interrupted" ? "interrupted" : undefined;
            progress.jobSkipped(job.spec.key);
            changed = true;
          } else if (stopped()) {
            job.state = "failed";
            job.reason = "the sweep was interrupted before it ran";
            job.ending = "interrupted";
            progress.jobSkipped(job.spec.key);
            changed = true;
          }
        }
      }
      // Start ready jobs; for an eager executor, starting a job can make its dependents ready.
      const inputOk = new Set(executor.eager ? ["done", "cached", "running"] : ["done", "cached"]);
      let started = true;
      let progressed = false;
      while (started && running.size < executor.concurrency && !stopped()) {
        started = false;
        const isReady = (job: Job) =>
          job.state === "pending" && job.spec.after.every((k) => inputOk.has(jobs.get(k)!.state));
        for (const job of jobs.values()) {
          if (running.size >= executor.concurrency || stopped()) break;
          if (!isReady(job)) continue;
          const ran = await claim(job, [...jobs.values()].filter(isReady).length);
          progressed = true;
          // A job taken from the cache or left to another process may free its dependents.
          started ||= !ran || executor.eager === true;
        }
      }
      await settleTrials();
      if (running.size === 0 && waiting.size === 0) {
        // Nothing runs or waits; a job taken from the cache may have made others ready.
        if (!progressed || stopped()) break;
        continue;
      }
      await Promise.race([...running.values(), ...waiting.values()]);
    }
    await settleTrials();
  } finally {
    if (opts.interrupt) Deno.removeSignalListener("SIGINT", onSigint);
    opts.signal?.removeEventListener("abort", forward);
    abort.signal.removeEventListener("abort", onAbort);
    clearInterval(heartbeat);
    progress.close();
  }

  const rows = db.trials(runId);
  const outcomes: TrialOutcome[] = trials.map((t, i) => {
    const row = rows.find((r) => r.id === ids[i])!;
    const status = row.status === "queued" || row.status === "running" ? "interrupted" : row.status;
    return {
      id: t.id,
      label: t.label,
      params: t.params as Record<string, JsonValue>,
      seed: t.seed,
      status,
      reason: row.reason ?? undefined,
      metrics: row.metrics,
      references: row.references,
    };
  });
  const count = (...s: TrialOutcome["status"][]) =>
    outcomes.filter((o) => s.includes(o.status)).length;
  const status: RunStatus = stopped() || count("interrupted") > 0
    ? "interrupted"
    : count("failed", "diverged") > 0
    ? "failed"
    : "finished";
  db.finishRun(runId, new Date(), status);
  db.close();
  await Deno.remove(lifePath).catch(() => {});
  life?.release();
  return {
    runId,
    runDir: opts.runDir,
    status,
    trials: outcomes,
    executed,
    cached: [...jobs.values()].filter((j) => j.state === "cached").length,
    reused,
    cacheReadSeconds,
    cachedComputeSeconds,
    failed: count("failed", "diverged"),
    interrupted: count("interrupted"),
    seconds: (performance.now() - t0) / 1000,
  };
}
