/**
 * Running nodes: cache keys of every node of a trial, and materialising a node's output —
 * a cache hit costs a file read, a miss runs the plugin (inputs first) and stores the result.
 * Shared by the in-process executor and the worker processes of the local executor.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type {
  Plugin,
  PluginContext,
  PluginKind,
  PluginSpec,
  StepContext,
  StepPlugin,
} from "../api.ts";
import { type Cache, cacheKey } from "../cache.ts";
import type { ResolvedNode, Trial } from "../config/mod.ts";
import { debugEnabled, describeError, KtError, pluginFailure } from "../errors.ts";
import { useBackend } from "../backend/select.ts";
import { openCache } from "../cache.ts";
import type { CurvePoint, JobEvents, JobResult, JobSpec } from "../api.ts";
import type { LoadedExperiment } from "../config/mod.ts";
import { join } from "node:path";
import type { Registry } from "../registry.ts";
import { outputFromArtifact, outputToFiles, teacherSource } from "./outputs.ts";
import {
  nodeProvenance,
  type Provenance,
  type ProvenanceContext,
  provenanceKey,
  recordedProvenance,
} from "../provenance.ts";
import { withWorkPlugins, workPlans } from "./job.ts";
import { isDivergence } from "../train.ts";

/** What running one node needs. */
export interface NodeRuntime {
  cache: Cache;
  registry: Registry;
  /** Downloads and other plugin caches. */
  cacheDir: string;
  /** The experiment file's directory: relative paths in options start there. */
  baseDir?: string;
  log(message: string): void;
  /** A training curve point of node `node`. */
  onCurve?(
    node: string,
    point: CurvePoint,
  ): void;
}

/** The key and seed of one node of a trial. */
export interface NodePlan {
  name: string;
  key: string;
  seed: number;
  node: ResolvedNode;
  /**
   * What besides its options decided the node's output, with what its dataset and teacher
   * inputs were read from (recorded in its manifest; see {@linkcode recordedProvenance}).
   */
  provenance: Provenance;
  /** Only read from the cache, never computed here (a step input of a worker's job). */
  fromCache?: boolean;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = target as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== "object" || next === null) return;
    cur = next as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function isStep(node: ResolvedNode): node is ResolvedNode & { plugin: StepPlugin<unknown> } {
  return node.kind === "step";
}

/** The seed a node runs with: its own `seed` option, else the trial seed for seeded steps, else 0. */
export function nodeSeed(node: ResolvedNode, trial: Trial): number {
  const own = node.options.seed;
  if (typeof own === "number") return own;
  return isStep(node) && node.plugin.seeded ? trial.seed : 0;
}

/**
 * Cache keys of every node of a trial: hash(plugin + version + options with references replaced
 * by the referenced nodes' keys + the node's seed (the one it runs with, whether its `seed` option
 * names it or it is the default, {@linkcode nodeSeed}) + its provenance: kt's numerics version and
 * the hashes of the user plugin code it runs and of the files its options name, see
 * {@linkcode nodeProvenance}). Node names never enter a key, so identical nodes of different
 * trials (or renamed nodes) share one artifact; nor do a step's `labelOptions`, which do not
 * change its output. `ctx` comes from {@linkcode provenanceContext}.
 */
export function planTrial(trial: Trial, ctx: ProvenanceContext): Map<string, NodePlan> {
  const plans = new Map<string, NodePlan>();
  for (const name of trial.graph.order) {
    const node = trial.graph.nodes[name];
    const options = structuredClone(node.options);
    for (const r of node.refs) setPath(options, r.option, { $node: plans.get(r.node)!.key });
    for (const label of isStep(node) ? node.plugin.labelOptions ?? [] : []) delete options[label];
    const seed = nodeSeed(node, trial);
    // `$seed` is the seed the node runs with; a step's `seed` option spelling it out (`seed: 0` on
    // a teacher, whose default is 0; `seed: ${seed}` on a student) is the same step, so one key.
    // (Other nodes keep theirs: a dataset's `seed` has a default, so it is always in its options.)
    if (isStep(node) && typeof options.seed === "number") delete options.seed;
    const own = nodeProvenance(node, ctx);
    const key = cacheKey({
      plugin: `${node.kind}:${node.use}`,
      version: node.version,
      options: { ...options, $seed: seed },
      inputs: {},
      provenance: provenanceKey(own),
    });
    const provenance = recordedProvenance(
      own,
      node.inputs.map((n) => {
        const p = plans.get(n)!;
        return { name: n, step: p.node.kind === "step", key: p.key, recorded: p.provenance };
      }),
    );
    plans.set(name, { name, key, seed, node, provenance });
  }
  return plans;
}

/** Names of the step nodes a node depends on, looking through dataset and teacher nodes. */
export function stepDependencies(trial: Trial, name: string): string[] {
  const out = new Set<string>();
  const visit = (n: string) => {
    for (const input of trial.graph.nodes[n].inputs) {
      if (trial.graph.nodes[input].kind === "step") out.add(input);
      else visit(input);
    }
  };
  visit(name);
  return [...out];
}

function pluginResolver(registry: Registry) {
  return <K extends PluginKind>(spec: PluginSpec<K>) =>
    registry.get(spec.kind, spec.use) as unknown as Extract<Plugin, { kind: K }>;
}

/**
 * The output of node `name` of `trial`: from the cache when present and intact, else computed
 * (inputs first, recursively) and stored. `memo` shares outputs within one process.
 */
export async function materialize(
  trial: Trial,
  plans: Map<string, NodePlan>,
  name: string,
  rt: NodeRuntime,
  memo: Map<string, Promise<unknown>> = new Map(),
): Promise<unknown> {
  const plan = plans.get(name);
  if (!plan) throw new KtError(`no node "${name}" in trial ${trial.label}`);
  const existing = memo.get(plan.key);
  if (existing) return await existing;
  const promise = compute(trial, plans, plan, rt, memo);
  memo.set(plan.key, promise);
  return await promise;
}

async function compute(
  trial: Trial,
  plans: Map<string, NodePlan>,
  plan: NodePlan,
  rt: NodeRuntime,
  memo: Map<string, Promise<unknown>>,
): Promise<unknown> {
  const { node } = plan;
  const ctx: PluginContext = {
    cacheDir: rt.cacheDir,
    seed: plan.seed,
    log: rt.log,
    baseDir: rt.baseDir,
  };
  const what = `${node.kind} plugin "${node.use}" of node "${node.name}" (${node.where})`;
  if (node.kind === "dataset") {
    try {
      return await (node.plugin as Extract<Plugin, { kind: "dataset" }>).load(node.options, ctx);
    } catch (err) {
      throw located(err, node.where, what);
    }
  }
  if (node.kind === "teacher") {
    return teacherSource(node.plugin as Extract<Plugin, { kind: "teacher" }>, node.options, ctx);
  }
  if (!isStep(node)) {
    throw new KtError(
      `node "${node.name}" uses ${node.kind} plugin "${node.use}", which cannot stand alone as a node`,
      { where: node.where, hint: `put it inside a step, e.g. model: { use: ${node.use} }` },
    );
  }
  const step = node.plugin;
  const found = await rt.cache.lookup(plan.key);
  if (found.status === "hit") return await outputFromArtifact(step.output, found.artifact);
  if (found.status === "corrupt") {
    rt.log(`${node.name}: cached output was corrupt (${found.reason}); recomputing`);
  }
  if (plan.fromCache) {
    throw new KtError(`input "${node.name}" (${plan.key.slice(0, 12)}) is not in the cache`, {
      where: node.where,
      hint: "its job should have stored it; rerun the sweep to compute it again",
    });
  }
  const inputs: Record<string, unknown> = {};
  for (const r of node.refs) inputs[r.option] = await materialize(trial, plans, r.node, rt, memo);
  const stepCtx: StepContext = {
    ...ctx,
    inputs,
    plugin: pluginResolver(rt.registry),
    curve: (point) => rt.onCurve?.(node.name, point),
  };
  let value: unknown;
  const started = performance.now();
  try {
    value = await step.run(node.options, stepCtx);
  } catch (err) {
    throw located(err, node.where, what);
  }
  // How long computing this took, kept in the manifest so a later cache hit can say what it saved.
  const computeSeconds = Number(((performance.now() - started) / 1000).toFixed(3));
  const { files, info } = await outputToFiles(step.output, value);
  await rt.cache.put(plan.key, files, {
    plugin: `${node.kind}:${node.use}`,
    version: node.version,
    info: { ...info, computeSeconds },
    provenance: plan.provenance,
  });
  return value;
}

/**
 * An error of a node's plugin as a {@linkcode KtError}: a KtError without a place gets the
 * node's `file:line:col`; anything else is named after the plugin, at its own source line.
 */
function located(err: unknown, where: string, what: string): KtError {
  if (err instanceof KtError) {
    return err.where ? err : new KtError(err.message, { where, hint: err.hint, cause: err });
  }
  return pluginFailure(err, what);
}

/** Frees the tensors of trained models held in `memo` (in-process runs between jobs). */
export function releaseMemo(memo: Map<string, Promise<unknown>>): void {
  memo.clear();
  tf.disposeVariables();
}

/**
 * Runs one job in this process (the inline executor): its plugins are already in the
 * experiment's registry. See {@linkcode runJob}.
 */
export function runJobInProcess(
  loaded: LoadedExperiment,
  job: JobSpec,
  events: JobEvents,
  backend: { ready?: Promise<unknown> },
): Promise<JobResult> {
  return runJob(job, loaded.experiment.registry, events, backend);
}

/**
 * Runs one job from its self-contained {@linkcode JobSpec.work}: rebuilds the node and the
 * nodes it reads, materialises it (step inputs from the cache) and frees its models afterwards.
 * `importPlugins` loads the user plugin files the job lists into `registry` first (a worker
 * process). `backend` is shared between calls so the backend starts once.
 */
export async function runJob(
  job: JobSpec,
  registry: Registry,
  events: JobEvents,
  backend: { ready?: Promise<unknown> },
  options: { importPlugins?: boolean } = {},
): Promise<JobResult> {
  const work = job.work;
  if (!work) return { ok: false, reason: `job ${job.node} (${job.label}) came without its work` };
  const memo = new Map<string, Promise<unknown>>();
  try {
    const full = options.importPlugins ? await withWorkPlugins(registry, work) : registry;
    const { trial, plans } = workPlans(work, job, full);
    backend.ready ??= useBackend(work.backend, { threads: job.threads ?? 1 });
    await backend.ready;
    const cache = await openCache(job.cacheDir);
    await materialize(trial, plans, job.node, {
      cache,
      registry: full,
      cacheDir: join(job.cacheDir, "datasets"),
      baseDir: work.baseDir,
      log: events.log,
      onCurve: (_node, point) => events.curve(point),
    }, memo);
    return { ok: true };
  } catch (err) {
    const reason = describeError(err, debugEnabled());
    return { ok: false, reason, ...(isDivergence(err) ? { ending: "diverged" as const } : {}) };
  } finally {
    releaseMemo(memo);
  }
}
