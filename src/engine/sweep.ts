/**
 * The sweep scheduler: expands an experiment's trials into one job per distinct step node
 * (identical nodes across trials merge into one job: one teacher training, one feature
 * extraction), skips what the cache already holds, runs the rest in dependency order with bounded
 * parallelism through an executor, and records per-trial status, metrics and curves in the
 * results database. A failing job fails only the trials that need it. The metrics of reference
 * nodes (the teacher's and plain student's evaluations) are recorded apart from the method's.
 * @module
 */
import type {
  Executor,
  ExecutorPlugin,
  JobEvents,
  JobResult,
  JobSpec,
  WorkerCommand,
} from "../api.ts";
import { type Cache, openCache } from "../cache.ts";
import type { JsonValue } from "../canonical.ts";
import { type LoadedExperiment, type Trial, trialConfig } from "../config/mod.ts";
import { KtError } from "../errors.ts";
import {
  openResults,
  type ReferenceRow,
  type ResultsDb,
  runLockPath,
  type RunStatus,
} from "../results.ts";
import { type HeldLock, type KeyLock, tryLockKey } from "../key_lock.ts";
import { holdLife, type LifeLock, thisProcess } from "../liveness.ts";
import { KT_VERSION, ktCommit } from "../version.ts";
import { provenanceContext } from "../provenance.ts";
import { type NodePlan, planTrial, runJobInProcess, stepDependencies } from "./execute.ts";
import { jobWork } from "./job.ts";
import { type MetricsNode, metricsNodes } from "./references.ts";
import {
  jobEnd,
  jobThreads,
  runEnd,
  schedule,
  type ScheduledJob,
  type TrialEnd,
  trialState,
} from "./schedule.ts";
import { createSweepProgress, jobLabel, type SweepProgress } from "./sweep_progress.ts";
import { workerCommand } from "./worker_command.ts";

export { jobThreads, trialState };

/** Options of {@linkcode runSweep}. */
export interface SweepOptions {
  /** The artifact cache (e.g. `.kt/cache`). */
  cacheDir: string;
  /** The run directory: results.sqlite and logs (e.g. `runs/<name>`). */
  runDir: string;
  /** Parallel jobs (default: the number of cores). */
  jobs?: number;
  /**
   * Where jobs run: the `local`, `inline` or `slurm` plugin, or one of your own (default: the
   * experiment registry's `local`, a worker process per job).
   */
  executor?: ExecutorPlugin<unknown>;
  /** The executor's options (validated against its schema). */
  executorOptions?: unknown;
  /**
   * Starts a worker process for a job (default: kt's own `main.ts worker`, with the narrowest
   * permissions; the calling program needs `--allow-run=deno`).
   */
  workerCommand?: (job: JobSpec) => WorkerCommand;
  /** Computes a job in this process (default: with the experiment's registry). */
  runInProcess?: (job: JobSpec, events: JobEvents) => Promise<JobResult>;
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
  /** Where progress lines go (default: stderr). */
  log?: (line: string) => void;
}

/** How one trial ended. */
export interface TrialOutcome {
  /** Trial id (a hash of its parameters). */
  id: string;
  /** Trial label for people, e.g. `transfer=pkt seed=0`. */
  label: string;
  /** The swept parameters of the trial. */
  params: Record<string, JsonValue>;
  /** The trial's seed. */
  seed: number;
  /** How it ended (`cached`: every job was in the cache). */
  status: TrialEnd;
  /** Why it failed, diverged or was interrupted. */
  reason?: string;
  /** The method's metrics, by name. */
  metrics: Record<string, number>;
  /** The references (teacher, plain student) measured in this trial. */
  references: ReferenceRow[];
}

/** What {@linkcode runSweep} did. */
export interface SweepReport {
  /** Id of the run in the results database. */
  runId: number;
  /** The run directory. */
  runDir: string;
  /** How the run ended: `finished`, `failed` (some trial failed or diverged) or `interrupted`. */
  status: RunStatus;
  /** Each trial's outcome. */
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
  /** Wall time of the sweep. */
  seconds: number;
}

/** A job of the sweep: the scheduler's view of it and what running it takes. */
interface Job extends ScheduledJob {
  spec: JobSpec;
  plugin: string;
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

/** {@linkcode SweepOptions} with their defaults applied. */
type FullOptions = SweepOptions & Required<Pick<SweepOptions, "jobs" | "executor">>;

/**
 * Runs (or resumes) a sweep of a loaded experiment; see the module doc. Only the cache and run
 * directories must be given: by default jobs run in worker processes (the `local` executor), as
 * many at once as there are cores.
 *
 * @example A tiny experiment in a temporary folder, swept from code
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { createRegistry, loadExperiment, runSweep, writeNpy } from "../../mod.ts";
 * import { builtinPlugins } from "../../plugins/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const y = Float32Array.from({ length: 8 }, (_, i) => i % 2); // 8 images of 2×2, 2 classes
 * const x = Float32Array.from({ length: 32 }, (_, i) => 255 * y[Math.floor(i / 4)]);
 * await writeNpy(join(dir, "x.npy"), x, [8, 2, 2, 1]);
 * await writeNpy(join(dir, "y.npy"), y, [8]);
 * await Deno.writeTextFile(
 *   join(dir, "tiny.yaml"),
 *   `name: tiny
 * backend: cpu
 * nodes:
 *   data: { use: npy, images: x.npy, labels: y.npy }
 *   student: { use: transfer, data: data, model: { use: mlp, hidden: [4] }, epochs: 2, batchSize: 4 }
 *   eval: { use: evaluate, model: student, queries: data, database: data, metrics: [accuracy] }
 * sweep: { seeds: [0, 1] }
 * `,
 * );
 * const loaded = await loadExperiment(join(dir, "tiny.yaml"), createRegistry(builtinPlugins));
 * // Jobs run in worker processes (the `local` executor): this program needs --allow-run=deno.
 * const options = { cacheDir: join(dir, "cache"), runDir: join(dir, "run"), log: () => {} };
 * const report = await runSweep(loaded, options);
 * assert.equal(report.status, "finished");
 * assert.deepEqual(report.trials.map((t) => t.label), ["seed=0", "seed=1"]);
 * assert.ok(report.trials.every((t) => t.metrics.accuracy >= 0 && t.metrics.accuracy <= 1));
 * // Run again: every job is in the cache.
 * assert.equal((await runSweep(loaded, options)).cached, 4);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runSweep(
  loaded: LoadedExperiment,
  options: SweepOptions,
): Promise<SweepReport> {
  const t0 = performance.now();
  const backend = {};
  const opts: FullOptions = {
    ...options,
    jobs: options.jobs ?? (navigator.hardwareConcurrency || 1),
    executor: options.executor ?? loaded.experiment.registry.get("executor", "local"),
  };
  checkJobs(opts.jobs);
  const log = opts.log ?? ((l: string) => console.error(l));
  const cache = await openCache(opts.cacheDir, {
    onCorrupt: (key, reason) =>
      log(`cache: artifact ${key.slice(0, 12)} is corrupt (${reason}); recomputing`),
  });
  // Cores left to each job's own kernel threads when `jobs` run at once (e.g. 1 job on 2 cores: 2).
  const cores = navigator.hardwareConcurrency || 1;
  const plan = await planSweep(loaded, opts, jobThreads(cores, opts.jobs, 0, opts.jobs));
  const scan = await scanCache(plan.jobs, cache);
  const record = await startRecord(loaded, opts);
  const executor = opts.executor.create(opts.executorOptions ?? {}, {
    jobs: opts.jobs,
    workerCommand: opts.workerCommand ?? ((job) => workerCommand(job)),
    runInProcess: opts.runInProcess ??
      ((job, events) => runJobInProcess(loaded, job, events, backend)),
    log,
  });
  const run = beginRun(loaded, opts, { log, cores, plan, cache, record, executor });
  const unwatch = watchStop(run);
  try {
    await driveJobs(run);
  } finally {
    unwatch();
    clearInterval(record.heartbeat);
    run.progress.close();
  }
  const end = await finishRecord(run);
  return {
    runId: record.runId,
    runDir: opts.runDir,
    status: end.status,
    trials: end.trials,
    executed: run.executed,
    cached: [...plan.jobs.values()].filter((j) => j.state === "cached").length,
    reused: run.reused,
    ...scan,
    failed: end.failed,
    interrupted: end.interrupted,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** `jobs` (the parallel jobs allowed) must be a whole number of at least 1. */
function checkJobs(jobs: number): void {
  if (Number.isInteger(jobs) && jobs >= 1) return;
  throw new KtError(`jobs must be a whole number of at least 1, got ${jobs}`, {
    where: "--jobs",
    hint: "run at least one job at a time, e.g. --jobs 1",
  });
}

/** The sweep's jobs: one per distinct step-node key, each after its inputs. */
interface SweepPlan {
  jobs: Map<string, Job>;
  /** Each trial's job keys, in its graph's order. */
  trialJobs: Map<string, string[]>;
  /** Each trial's metrics nodes (method and reference). */
  trialMetricsNodes: Map<string, MetricsNode[]>;
}

/** Plans every trial and merges identical step nodes into one job (`threads` each by default). */
async function planSweep(
  { experiment, trials }: LoadedExperiment,
  opts: SweepOptions,
  threads: number,
): Promise<SweepPlan> {
  const netHosts = downloadHosts(trials);
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
      const after = stepDependencies(trial, name).map((d) => plans.get(d)!.key);
      jobs.set(plan.key, {
        key: plan.key,
        node: name,
        after,
        spec: {
          key: plan.key,
          node: name,
          trialId: trial.id,
          label: trial.label,
          after,
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
  return { jobs, trialJobs, trialMetricsNodes: metricsNodes(trials, trialPlans) };
}

/**
 * Marks the jobs the cache already holds `cached` (verified: a corrupt artifact is removed and
 * recomputed); returns the seconds reading them took and those computing them once took.
 */
async function scanCache(
  jobs: ReadonlyMap<string, Job>,
  cache: Cache,
): Promise<{ cacheReadSeconds: number; cachedComputeSeconds: number }> {
  let cacheReadSeconds = 0;
  let cachedComputeSeconds = 0;
  for (const job of jobs.values()) {
    const t = performance.now();
    const found = await cache.lookup(job.key);
    if (found.status === "hit") {
      job.state = "cached";
      cacheReadSeconds += (performance.now() - t) / 1000;
      const computed = found.artifact.manifest.info.computeSeconds;
      if (typeof computed === "number") cachedComputeSeconds += computed;
    }
  }
  return { cacheReadSeconds, cachedComputeSeconds };
}

/** The run's rows in the results database, and the signs that its sweep is alive. */
interface RunRecord {
  db: ResultsDb;
  runId: number;
  /** The life lock's file, held while the sweep lives. */
  lifePath: string;
  life: LifeLock | undefined;
  heartbeat: ReturnType<typeof setInterval>;
  /** Each trial's row id, in the order of the trials. */
  rowIds: number[];
  /** Each trial's row id by trial id. */
  trialRows: Map<string, number>;
}

/** Starts the run in the results database, with every trial `queued`, its life lock and beat. */
async function startRecord(
  { experiment, trials }: LoadedExperiment,
  opts: SweepOptions,
): Promise<RunRecord> {
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
  const rowIds = db.addTrials(
    runId,
    trials.map((t) => ({
      label: t.label,
      params: t.params as Record<string, JsonValue>,
      seed: t.seed,
      status: "queued" as const,
      config: trialConfig(t),
    })),
  );
  const trialRows = new Map(trials.map((t, i) => [t.id, rowIds[i]]));
  return { db, runId, lifePath, life, heartbeat, rowIds, trialRows };
}

/** A sweep under way: what the scheduler loop and the effects it orders share. */
interface SweepRun {
  opts: FullOptions;
  log: (line: string) => void;
  cores: number;
  trials: readonly Trial[];
  plan: SweepPlan;
  cache: Cache;
  record: RunRecord;
  executor: Executor;
  progress: SweepProgress;
  /** Aborted when the sweep is stopped (its signal, Ctrl-C). */
  abort: AbortController;
  /** Jobs running here, by key, until their result is in. */
  running: Map<string, Promise<void>>;
  /** Jobs another process computes, by key, until it stored or dropped them. */
  waiting: Map<string, Promise<void>>;
  finishedTrials: Set<string>;
  runningTrials: Set<string>;
  /** Jobs whose plugin ran here, by plugin name. */
  executed: Record<string, number>;
  /** Jobs another process computed meanwhile. */
  reused: number;
}

/** The state of a sweep about to run its jobs, with its progress view. */
function beginRun(
  loaded: LoadedExperiment,
  opts: FullOptions,
  parts: Pick<SweepRun, "log" | "cores" | "plan" | "cache" | "record" | "executor">,
): SweepRun {
  const jobs = [...parts.plan.jobs.values()];
  const progress = createSweepProgress({
    trials: loaded.trials.length,
    jobs: jobs.length,
    cachedJobs: jobs.filter((j) => j.state === "cached").length,
    pending: jobs.filter((j) => j.state !== "cached").map((j) => ({ key: j.key, kind: j.plugin })),
    parallel: parts.executor.concurrency,
    tty: opts.tty,
    verbose: opts.verbose,
    log: parts.log,
  });
  return {
    ...parts,
    opts,
    trials: loaded.trials,
    progress,
    abort: new AbortController(),
    running: new Map(),
    waiting: new Map(),
    finishedTrials: new Set(),
    runningTrials: new Set(),
    executed: {},
    reused: 0,
  };
}

const stopped = (run: SweepRun) => run.abort.signal.aborted;

/**
 * The scheduler loop: carries out {@linkcode schedule}'s decisions until it says the sweep is
 * over, recording the trials' statuses whenever it waits.
 */
async function driveJobs(run: SweepRun): Promise<void> {
  const { jobs } = run.plan;
  await settleTrials(run);
  while (true) {
    const decision = schedule({
      jobs,
      capacity: run.executor.concurrency,
      eager: run.executor.eager,
      stopped: stopped(run),
    });
    if (decision.do === "skip") {
      const job = jobs.get(decision.key)!;
      job.state = "failed";
      job.reason = decision.reason;
      job.ending = decision.ending;
      run.progress.jobSkipped(job.key);
    } else if (decision.do === "start") {
      await claimJob(run, jobs.get(decision.key)!, decision.ready);
    } else {
      // What is in flight now: a job that ends while the trials are settled (settleTrials
      // awaits the cache) resolves the race at once instead of leaving it to wait on nothing.
      const inFlight = [...run.running.values(), ...run.waiting.values()];
      await settleTrials(run);
      if (decision.do === "finish") return;
      await Promise.race(inFlight);
    }
  }
}

/** Records each unfinished trial whose jobs decided it: failed, interrupted, done or running. */
async function settleTrials(run: SweepRun): Promise<void> {
  const { db, trialRows } = run.record;
  for (const trial of run.trials) {
    if (run.finishedTrials.has(trial.id)) continue;
    const states = run.plan.trialJobs.get(trial.id)!.map((k) => run.plan.jobs.get(k)!);
    const { state, job } = trialState(states);
    const rowId = trialRows.get(trial.id)!;
    if (state === "failed" || state === "diverged" || state === "interrupted") {
      run.finishedTrials.add(trial.id);
      const reason = `${states[job!].node}: ${states[job!].reason}`;
      db.setTrialStatus(rowId, state, { reason });
      run.progress.trialEnded(trial.label, state, states[job!].reason);
    } else if (state === "done" || state === "cached") {
      run.finishedTrials.add(trial.id);
      try {
        const { metrics, references } = await trialMetrics(
          run.plan.trialMetricsNodes.get(trial.id)!,
          run.cache,
        );
        db.recordMetrics(rowId, metrics, references);
        db.setTrialStatus(rowId, state);
        run.progress.trialEnded(trial.label, state);
      } catch (err) {
        db.setTrialStatus(rowId, "failed", { reason: (err as Error).message });
        run.progress.trialEnded(trial.label, "failed", (err as Error).message);
      }
    } else if (state === "running" && !run.runningTrials.has(trial.id)) {
      run.runningTrials.add(trial.id);
      db.setTrialStatus(rowId, "running");
    }
  }
}

/**
 * Takes `job`'s key lock and starts it (`ready` jobs could start); a key held by another process
 * is waited for, one stored meanwhile is taken from the cache. Returns whether it started.
 */
async function claimJob(run: SweepRun, job: Job, ready: number): Promise<boolean> {
  const lock = await tryLockKey(run.opts.cacheDir, job.key);
  if (!("release" in lock)) {
    waitForOther(run, job, lock.heldBy);
    return false;
  }
  // Another process may have stored it since the plan looked.
  if ((await run.cache.check(job.key)).status === "hit") {
    await lock.release();
    job.state = "cached";
    run.reused++;
    run.progress.jobSkipped(job.key);
    return false;
  }
  // Stopped (Ctrl-C, a cancel) while the lock was taken: the executor was cancelled already, so a
  // job started now would run to its end. Leave it pending: the scheduler marks it interrupted.
  if (stopped(run)) {
    await lock.release();
    return false;
  }
  startJob(run, job, ready, lock);
  return true;
}

/** Hands `job` to the executor; its result sets its state and frees its lock. */
function startJob(run: SweepRun, job: Job, ready: number, lock: KeyLock): void {
  const { progress, record } = run;
  job.state = "running";
  job.spec = {
    ...job.spec,
    threads: jobThreads(run.cores, run.opts.jobs, run.running.size, ready),
  };
  const users = job.users.map((u) => ({ label: u.trial.label, params: u.trial.params }));
  progress.jobStarted(job.key, jobLabel(job.node, users));
  const events: JobEvents = {
    curve: (point) => {
      // Evaluation points (`eval:<metric>`, see eval_curve.ts) are not training progress.
      if (!point.phase?.startsWith("eval:")) progress.jobCurve(job.key, point);
      for (const u of job.users) {
        record.db.recordEpoch(record.trialRows.get(u.trial.id)!, { node: u.node, ...point });
      }
    },
    log: (line) => progress.log(line),
  };
  const p = run.executor.run(job.spec, events).catch((err): JobResult => ({
    ok: false,
    reason: err instanceof KtError ? err.format() : String(err),
  })).then(async (result) => {
    await lock.release();
    run.running.delete(job.key);
    // A failure while stopping counts as stopped by the user (or a cancel), not as its own.
    Object.assign(job, { reason: undefined, ending: undefined }, jobEnd(result, stopped(run)));
    if (result.ok) run.executed[job.plugin] = (run.executed[job.plugin] ?? 0) + 1;
    progress.jobEnded(job.key, job.reason, job.ending);
  });
  run.running.set(job.key, p);
}

/**
 * Polls a job another process (a concurrent sweep on this cache) holds the lock of until the lock
 * is free: then it is taken from the cache if it was stored, else left to run here.
 */
function waitForOther(run: SweepRun, job: Job, holder: HeldLock["heldBy"]): void {
  const { progress } = run;
  job.state = "waiting";
  progress.log(
    `waiting: ${job.node} (${job.spec.label}) is being computed by another process ` +
      `(pid ${holder.pid} on ${holder.host || "?"})`,
  );
  const poll = async () => {
    while (!stopped(run)) {
      await new Promise((r) => setTimeout(r, run.opts.lockPollMs ?? 250));
      const found = await run.cache.check(job.key);
      if (found.status === "hit") {
        job.state = "cached";
        run.reused++;
        progress.jobSkipped(job.key);
        progress.log(`reused: ${job.node} (${job.spec.label}), computed by another process`);
        return;
      }
      const lock = await tryLockKey(run.opts.cacheDir, job.key);
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
  run.waiting.set(job.key, poll().finally(() => run.waiting.delete(job.key)));
}

/**
 * Stops the sweep when its signal aborts or on Ctrl-C (asking first when `interrupt` is "ask"; a
 * second Ctrl-C exits with 130 at once); returns what removes these listeners.
 */
function watchStop(run: SweepRun): () => void {
  const { opts, abort, progress, record } = run;
  const onAbort = () => {
    run.log("stopping: no new jobs; stopping the running ones");
    run.executor.cancel?.().catch((err) => run.log(`cancel failed: ${(err as Error).message}`));
  };
  abort.signal.addEventListener("abort", onAbort, { once: true });
  const forward = () => abort.abort();
  opts.signal?.addEventListener("abort", forward, { once: true });
  if (opts.signal?.aborted) abort.abort();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1 || stopped(run)) {
      progress.close();
      record.db.markInterrupted(record.runId, "the sweep was stopped (second Ctrl-C)");
      Deno.removeSync(record.lifePath);
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
  return () => {
    if (opts.interrupt) Deno.removeSignalListener("SIGINT", onSigint);
    opts.signal?.removeEventListener("abort", forward);
    abort.signal.removeEventListener("abort", onAbort);
  };
}

/**
 * Reads how each trial ended back from the database (a trial left queued or running was
 * interrupted), finishes the run there and drops its life lock.
 */
async function finishRecord(
  run: SweepRun,
): Promise<Pick<SweepReport, "status" | "trials" | "failed" | "interrupted">> {
  const { db, runId, rowIds, lifePath, life } = run.record;
  const rows = db.trials(runId);
  const recorded = rowIds.map((id) => rows.find((r) => r.id === id)!);
  const end = runEnd(recorded.map((r) => r.status), stopped(run));
  const trials: TrialOutcome[] = run.trials.map((t, i) => ({
    id: t.id,
    label: t.label,
    params: t.params as Record<string, JsonValue>,
    seed: t.seed,
    status: end.trials[i],
    reason: recorded[i].reason ?? undefined,
    metrics: recorded[i].metrics,
    references: recorded[i].references,
  }));
  db.finishRun(runId, new Date(), end.status);
  db.close();
  await Deno.remove(lifePath).catch(() => {});
  life?.release();
  const count = (...s: TrialEnd[]) => trials.filter((o) => s.includes(o.status)).length;
  return {
    status: end.status,
    trials,
    failed: count("failed", "diverged"),
    interrupted: count("interrupted"),
  };
}
