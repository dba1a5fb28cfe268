/**
 * A job as a worker receives it ({@linkcode JobWork}): the step node to compute, the nodes it
 * reads — datasets and teachers in full, step inputs only by cache key — and the user plugin
 * files to import. A worker rebuilds exactly that sub-graph and never reads the experiment file
 * or expands the sweep, so its start-up cost does not grow with the number of trials.
 * @module
 */
import type { PluginKind } from "../api.ts";
import type { BackendName } from "../backend/names.ts";
import type { NodeRef, ResolvedNode, Trial } from "../config/mod.ts";
import { KtError } from "../errors.ts";
import type { Provenance } from "../provenance.ts";
import { loadPluginFile, pluginSource, type Registry } from "../registry.ts";
import type { HashedSource } from "../source_hash.ts";
import type { NodePlan } from "./execute.ts";

/** One node of a job's sub-graph, as plain JSON. */
export interface WorkNode {
  /** The node's name in the graph. */
  name: string;
  /** Its plugin's kind. */
  kind: PluginKind;
  /** Its plugin's name. */
  use: string;
  /** The plugin version the key was computed with. */
  version: string;
  /** Validated options (references hold node names). */
  options: Record<string, unknown>;
  /** Which option references which node. */
  refs: NodeRef[];
  /** `file:line:col` of the node in the experiment file, for messages. */
  where: string;
  /** The node's cache key. */
  key: string;
  /** The node's seed. */
  seed: number;
  /** What besides plugin and options decided its output. */
  provenance: Provenance;
  /** A step input computed by an earlier job: read from the cache, never computed here. */
  fromCache?: true;
  /** Where the node is written in the experiment file (its `loc` and `source`), for messages. */
  written?: { loc: unknown; source: unknown };
}

/** Everything a worker needs to compute one job. */
export interface JobWork {
  /** The backend the job computes on. */
  backend: BackendName;
  /** The experiment file's directory (relative paths in options start there). */
  baseDir: string;
  /** User plugin files the nodes run, with the hashes their keys were computed with. */
  plugins: HashedSource[];
  /** The job's node (last) and every node it reads (inputs first). */
  nodes: WorkNode[];
}

/**
 * The work of computing node `name` of `trial`: the node, the dataset and teacher nodes it reads
 * (recursively), and its step inputs by key.
 *
 * @example
 * ```ts ignore
 * const plans = planTrial(trial, ctx);
 * const work = jobWork(trial, plans, "student", experiment);
 * work.nodes.map((n) => [n.name, n.fromCache ?? false]);
 * // [["train", false], ["targets", true], ["student", false]]
 * ```
 */
export function jobWork(
  trial: Trial,
  plans: ReadonlyMap<string, NodePlan>,
  name: string,
  experiment: { backend: BackendName; dir: string },
): JobWork {
  const included = new Map<string, boolean>();
  const visit = (n: string, isTarget: boolean) => {
    if (included.has(n)) return;
    const node = trial.graph.nodes[n];
    const fromCache = !isTarget && node.kind === "step";
    included.set(n, fromCache);
    if (!fromCache) { for (const input of node.inputs) visit(input, false); }
  };
  visit(name, true);
  const plugins = new Map<string, HashedSource>();
  const nodes: WorkNode[] = [];
  for (const n of trial.graph.order) {
    if (!included.has(n)) continue;
    const fromCache = included.get(n)!;
    const { node, key, seed, provenance } = plans.get(n)!;
    const { loc, source } = node as { loc?: unknown; source?: unknown };
    const own = pluginSource(node.plugin);
    if (own) plugins.set(own.path, own);
    if (!fromCache) {
      for (const src of Object.values(provenance.code)) plugins.set(src.path, src);
    }
    nodes.push({
      name: n,
      kind: node.kind,
      use: node.use,
      version: node.version,
      options: node.options,
      refs: node.refs,
      where: node.where,
      key,
      seed,
      provenance,
      ...(fromCache ? { fromCache: true as const } : {}),
      ...(loc === undefined ? {} : { written: { loc, source } }),
    });
  }
  return {
    backend: experiment.backend,
    baseDir: experiment.dir,
    plugins: [...plugins.values()],
    nodes,
  };
}

/**
 * `registry` plus the user plugin files `work` lists, each checked against the hash its cache
 * key was computed with: a file edited since the sweep planned the job fails the job rather
 * than storing new code's output under the old code's key.
 */
export async function withWorkPlugins(registry: Registry, work: JobWork): Promise<Registry> {
  const plugins = [];
  for (const src of work.plugins) {
    const plugin = await loadPluginFile(src.path, work.baseDir);
    if (pluginSource(plugin)?.sha256 !== src.sha256) {
      throw new KtError(`plugin file ${src.path} changed after the sweep started`, {
        hint: "rerun the sweep: the new code gets new cache keys",
      });
    }
    plugins.push(plugin);
  }
  return plugins.length > 0 ? registry.with(plugins) : registry;
}

/**
 * The trial and node plans a worker runs `work` with: its nodes resolved against `registry`
 * (which must hold every plugin they use, at the versions the keys were computed with).
 */
export function workPlans(
  work: JobWork,
  job: { trialId: string; label: string },
  registry: Registry,
): { trial: Trial; plans: Map<string, NodePlan> } {
  const nodes: Record<string, ResolvedNode> = {};
  const plans = new Map<string, NodePlan>();
  for (const w of work.nodes) {
    const plugin = registry.get(w.kind, w.use);
    if ((plugin.version ?? "") !== w.version) {
      throw new KtError(
        `${w.kind} plugin "${w.use}" is at version "${plugin.version ?? ""}", but the sweep ` +
          `planned node "${w.name}" with version "${w.version}"`,
        { where: w.where, hint: "rerun the sweep with the same kt" },
      );
    }
    const node = {
      name: w.name,
      use: w.use,
      kind: w.kind,
      version: w.version,
      plugin,
      options: w.options,
      refs: w.refs,
      inputs: [...new Set(w.refs.map((r) => r.node))],
      where: w.where,
      ...w.written,
    } as ResolvedNode;
    nodes[w.name] = node;
    plans.set(w.name, {
      name: w.name,
      key: w.key,
      seed: w.seed,
      node,
      provenance: w.provenance,
      ...(w.fromCache ? { fromCache: true } : {}),
    });
  }
  const trial: Trial = {
    id: job.trialId,
    label: job.label,
    params: {},
    seed: 0,
    graph: { nodes, order: work.nodes.map((n) => n.name) },
  };
  return { trial, plans };
}
