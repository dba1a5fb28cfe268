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
import type { LoadedExperiment, Trial } from "../config/mod.ts";
import { KtError } from "../errors.ts";
import { openResults, type ReferenceRow } from "../results.ts";
import { KT_VERSION, ktCommit } from "../version.ts";
import { provenanceContext } from "../provenance.ts";
import { type NodePlan, planTrial, stepDependencies } from "./execute.ts";
import { jobWork } from "./job.ts";
import { type MetricsNode, metricsNodes } from "./references.ts";
import { createSweepProgress } from "./sweep_progress.ts";

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
  /** Aborting stops scheduling, cancels what the executor runs and fails the unfinished trials. */
  signal?: AbortSignal;
  /** Progress on a TTY (default: whether stderr is one). */
  tty?: boolean;
  log?: (line: string) => void;
}

/** How one trial ended. */
export interface TrialOutcome {
  id: string;
  label: string;
  params: Record<string, JsonValue>;
  seed: number;
  status: "done" | "cached" | "failed";
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
  trials: TrialOutcome[];
  /** Jobs whose plugin actually ran, by plugin name (cache hits excluded). */
  executed: Record<string, number>;
  /** Jobs found in the cache. */
  cached: number;
  /** Seconds spent reading and verifying the cached jobs' artifacts. */
  cacheReadSeconds: number;
  /** Seconds computing the cached artifacts took when they were made (where recorded). */
  cachedComputeSeconds: number;
  failed: number;
  seconds: number;
}

interface Job {
  spec: JobSpec;
  plugin: string;
  state: "pending" | "running" | "done" | "cached" | "failed";
  reason?: string;
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
  });
  const trialRows = new Map<string, number>();
  const ids = db.addTrials(
    runId,
    trials.map((t) => ({
      label: t.label,
      params: t.params as Record<string, JsonValue>,
      seed: t.seed,
      status: "queued" as const,
      config: Object.fromEntries(
        t.graph.order.map((n) => [n, { use: t.graph.nodes[n].use, ...t.graph.nodes[n].options }]),
      ) as JsonValue,
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
    tty: opts.tty,
    log,
  });
  const executed: Record<string, number> = {};

  const finishedTrials = new Set<string>();
  const settleTrials = async () => {
    for (const trial of trials) {
      if (finishedTrials.has(trial.id)) continue;
      const states = trialJobs.get(trial.id)!.map((k) => jobs.get(k)!);
      const failed = states.find((j) => j.state === "failed");
      const rowId = trialRows.get(trial.id)!;
      if (failed) {
        finishedTrials.add(trial.id);
        db.setTrialStatus(rowId, "failed", { reason: `${failed.spec.node}: ${failed.reason}` });
        progress.trialEnded(trial.label, "failed", failed.reason);
      } else if (states.every((j) => j.state === "done" || j.state === "cached")) {
        finishedTrials.add(trial.id);
        try {
          const { metrics, references } = await trialMetrics(
            trialMetricsNodes.get(trial.id)!,
            cache,
          );
          db.recordMetrics(rowId, metrics, references);
          const fresh = states.some((j) => j.state === "done");
          db.setTrialStatus(rowId, fresh ? "done" : "cached");
          progress.trialEnded(trial.label, fresh ? "done" : "cached");
        } catch (err) {
          db.setTrialStatus(rowId, "failed", { reason: (err as Error).message });
          progress.trialEnded(trial.label, "failed", (err as Error).message);
        }
      } else if (states.some((j) => j.state === "running")) {
        db.setTrialStatus(rowId, "running");
      }
    }
  };

  const running = new Map<string, Promise<void>>();
  const start = (job: Job, ready: number) => {
    job.state = "running";
    job.spec = { ...job.spec, threads: jobThreads(cores, opts.jobs, running.size, ready) };
    progress.jobStarted(job.spec.key, `${job.spec.node} (${job.spec.label})`);
    const events: JobEvents = {
      curve: (point) => {
        progress.jobCurve(job.spec.key, point);
        for (const u of job.users) {
          db.recordEpoch(trialRows.get(u.trial.id)!, { node: u.node, ...point });
        }
      },
      log: (line) => progress.log(line),
    };
    const p = executor.run(job.spec, events).catch((err): JobResult => ({
      ok: false,
      reason: err instanceof KtError ? err.format() : String(err),
    })).then((result) => {
      running.delete(job.spec.key);
      if (result.ok) {
        job.state = "done";
        executed[job.plugin] = (executed[job.plugin] ?? 0) + 1;
      } else {
        job.state = "failed";
        job.reason = result.reason;
      }
      progress.jobEnded(job.spec.key, result.ok ? undefined : result.reason);
    });
    running.set(job.spec.key, p);
  };

  const onAbort = () => {
    log("cancelling: no new jobs; stopping the running ones");
    executor.cancel?.().catch((err) => log(`cancel failed: ${(err as Error).message}`));
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await settleTrials();
    while (true) {
      // Jobs whose inputs failed can never run.
      let changed = true;
      while (changed) {
        changed = false;
        for (const job of jobs.values()) {
          if (job.state !== "pending") continue;
          const bad = job.spec.after.map((k) => jobs.get(k)!).find((d) => d.state === "failed");
          if (bad) {
            job.state = "failed";
            job.reason = `input "${bad.spec.node}" failed`;
            changed = true;
          }
        }
      }
      if (opts.signal?.aborted) {
        for (const job of jobs.values()) {
          if (job.state === "pending") {
            job.state = "failed";
            job.reason = "cancelled";
          }
        }
      }
      // Start ready jobs; for an eager executor, starting a job can make its dependents ready.
      const inputOk = new Set(executor.eager ? ["done", "cached", "running"] : ["done", "cached"]);
      let started = true;
      while (started && running.size < executor.concurrency) {
        started = false;
        const isReady = (job: Job) =>
          job.state === "pending" && job.spec.after.every((k) => inputOk.has(jobs.get(k)!.state));
        for (const job of jobs.values()) {
          if (running.size >= executor.concurrency) break;
          if (!isReady(job)) continue;
          start(job, [...jobs.values()].filter(isReady).length);
          started = executor.eager === true;
        }
      }
      await settleTrials();
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    await settleTrials();
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    progress.close();
    db.finishRun(runId);
  }

  const rows = db.trials(runId);
  db.close();
  const outcomes: TrialOutcome[] = trials.map((t, i) => {
    const row = rows.find((r) => r.id === ids[i])!;
    return {
      id: t.id,
      label: t.label,
      params: t.params as Record<string, JsonValue>,
      seed: t.seed,
      status: row.status === "failed" ? "failed" : row.status === "cached" ? "cached" : "done",
      reason: row.reason ?? undefined,
      metrics: row.metrics,
      references: row.references,
    };
  });
  return {
    runId,
    runDir: opts.runDir,
    trials: outcomes,
    executed,
    cached: [...jobs.values()].filter((j) => j.state === "cached").length,
    cacheReadSeconds,
    cachedComputeSeconds,
    failed: outcomes.filter((o) => o.status === "failed").length,
    seconds: (performance.now() - t0) / 1000,
  };
}
