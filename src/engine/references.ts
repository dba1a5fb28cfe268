/**
 * Which metrics nodes of a sweep measure the swept method and which measure a *reference* (the
 * teacher, the plain student): decided from the trials' graphs and cache keys alone, before
 * anything runs, so a fully cached rerun labels its rows the same way.
 * @module
 */
import type { StepPlugin } from "../api.ts";
import type { Trial } from "../config/mod.ts";
import type { NodePlan } from "./execute.ts";

/** A metrics-producing node of one trial. */
export interface MetricsNode {
  /** The node's name. */
  node: string;
  /** Cache key of its output: trials that share it measured the same thing, once. */
  key: string;
  /** The reference's row label; `undefined` when the node measures the trial's method. */
  reference?: string;
}

/**
 * The metrics nodes of each trial (by trial id), in graph order, each with its cache key and,
 * for a reference, its label. A node is a reference when its plugin's `reference` hook says so;
 * a guessed (`inferred`) mark is dropped when the node's key differs between two trials of the
 * same seed, because the node then depends on the swept method.
 *
 * @example
 * ```ts ignore
 * import { metricsNodes } from "./references.ts";
 * import { planTrial } from "./execute.ts";
 * const plans = new Map(trials.map((t) => [t.id, planTrial(t)]));
 * metricsNodes(trials, plans).get(trials[0].id);
 * // [{ node: "eval", key: "…" }, { node: "teacher_eval", key: "…", reference: "teacher" }]
 * ```
 */
export function metricsNodes(
  trials: readonly Trial[],
  plans: ReadonlyMap<string, ReadonlyMap<string, NodePlan>>,
): Map<string, MetricsNode[]> {
  const marked = new Map<string, (MetricsNode & { inferred: boolean })[]>();
  // Keys of each node per trial seed: more than one = the node varies with the method.
  const keysBySeed = new Map<string, Map<number, Set<string>>>();
  for (const trial of trials) {
    const plan = plans.get(trial.id)!;
    const nodes = trial.graph.order.flatMap((name) => {
      const node = trial.graph.nodes[name];
      if (node.kind !== "step") return [];
      const step = node.plugin as StepPlugin<unknown>;
      if (step.output !== "metrics") return [];
      const key = plan.get(name)!.key;
      const bySeed = keysBySeed.get(name) ?? new Map<number, Set<string>>();
      bySeed.set(trial.seed, (bySeed.get(trial.seed) ?? new Set()).add(key));
      keysBySeed.set(name, bySeed);
      const mark = step.reference?.(node.options, { name, nodes: trial.graph.nodes });
      return [{ node: name, key, reference: mark?.label, inferred: mark?.inferred === true }];
    });
    marked.set(trial.id, nodes);
  }
  const varies = (name: string) => [...keysBySeed.get(name)!.values()].some((s) => s.size > 1);
  return new Map(
    [...marked].map(([id, nodes]) => [
      id,
      nodes.map(({ node, key, reference, inferred }) =>
        reference === undefined || (inferred && varies(node))
          ? { node, key }
          : { node, key, reference }
      ),
    ]),
  );
}
