/**
 * Checks before anything runs: every node of every trial is described from what can be known
 * cheaply — dataset sizes and file headers, model sizes computed from options — inputs first, by
 * the plugins' `describe`/`estimate` hooks. What cannot work (a 32×32×3 query set against a model
 * built for 28×28×1, a dense layer too large for memory, a kernel larger than the image, a `limit`
 * above the samples, a data path naming a device) becomes a {@linkcode ConfigError} with the
 * `file:line:col` of the option at fault, before any training starts. Nodes shared by several
 * trials are described once.
 * @module
 */
import type {
  DatasetPlugin,
  DescribeContext,
  ModelContext,
  NodeShape,
  PluginContext,
  StepPlugin,
  TeacherPlugin,
} from "../api.ts";
import {
  ConfigError,
  type LoadedExperiment,
  type ResolvedNode,
  type Trial,
} from "../config/mod.ts";
import { Problems } from "../config/parse.ts";
import { optionLoc } from "../config/validate.ts";
import { KtError, OptionError, thrownSummary, userFrame } from "../errors.ts";
import { memoryBytes } from "../memory.ts";
import { sha256Hex } from "../hash.ts";
import { canonicalJson, type JsonValue } from "../canonical.ts";
import type { Registry } from "../registry.ts";

/** Bytes the wasm backend can address (its memory is 65,536 pages of 64 KiB). */
export const WASM_MEMORY_BYTES = 4 * 1024 ** 3;

/** Options of {@linkcode preflight}. */
export interface PreflightOptions {
  /** Downloads and plugin caches (the datasets folder of the cache). */
  cacheDir?: string;
  /** Memory training may use; default: this machine's, at most 4 GiB on the wasm backend. */
  memoryBytes?: number;
}

/**
 * Describes every node of every trial of `loaded` (see the module doc); throws
 * {@linkcode ConfigError} listing each problem at its option's `file:line:col`.
 */
export async function preflight(
  loaded: LoadedExperiment,
  opts: PreflightOptions = {},
): Promise<void> {
  const { experiment } = loaded;
  const problems = new Problems(experiment.file);
  const memory = opts.memoryBytes ??
    (experiment.backend === "wasm" ? Math.min(memoryBytes(), WASM_MEMORY_BYTES) : memoryBytes());
  const ctx: PluginContext = {
    cacheDir: opts.cacheDir ?? "",
    seed: 0,
    log: () => {},
    baseDir: experiment.dir,
  };
  const shapes = new Map<string, Promise<NodeShape | undefined>>();
  for (const trial of loaded.trials) {
    // A node's identity for this check: plugin, options and inputs (seeds change no shapes).
    const keys = new Map<string, string>();
    const keyOf = (name: string) => keys.get(name)!;
    for (const name of trial.graph.order) {
      const n = trial.graph.nodes[name];
      const key = sha256Hex(canonicalJson({
        plugin: `${n.kind}:${n.use}`,
        version: n.version,
        options: n.options as JsonValue,
        inputs: n.refs.map((r) => [r.option, keyOf(r.node)]),
      }));
      keys.set(name, key);
      if (shapes.has(key)) continue;
      const node = trial.graph.nodes[name];
      const input = async (option: string) => {
        const ref = node.refs.find((r) => r.option === option);
        if (!ref) return undefined;
        const shape = await shapes.get(keyOf(ref.node));
        return shape === undefined ? undefined : { ...shape, node: ref.node };
      };
      shapes.set(
        key,
        describeNode(trial, node, input, ctx, memory, experiment.registry, problems),
      );
    }
  }
  await Promise.all(shapes.values());
  if (problems.list.length > 0) throw new ConfigError(problems.list);
}

async function describeNode(
  trial: Trial,
  node: ResolvedNode,
  input: (option: string) => Promise<(NodeShape & { node: string }) | undefined>,
  ctx: PluginContext,
  memory: number,
  registry: Registry,
  problems: Problems,
): Promise<NodeShape | undefined> {
  const seeded: PluginContext = {
    ...ctx,
    seed: typeof node.options.seed === "number" ? node.options.seed : trial.seed,
  };
  try {
    switch (node.kind) {
      case "dataset": {
        const data = await (node.plugin as DatasetPlugin<unknown>).describe?.(node.options, seeded);
        return data === undefined ? undefined : { data };
      }
      case "teacher":
        return await (node.plugin as TeacherPlugin<unknown>).describe?.(node.options, seeded);
      case "step": {
        const step = node.plugin as StepPlugin<unknown>;
        if (!step.describe) return undefined;
        // The inputs a step may ask for, resolved before its synchronous describe runs.
        const inputs = new Map<string, (NodeShape & { node: string }) | undefined>();
        for (const r of node.refs) inputs.set(r.option, await input(r.option));
        const dctx: DescribeContext = {
          name: node.name,
          input: (option) => inputs.get(option),
          model: (option, modelCtx) => estimateModel(node, option, modelCtx, registry),
          memoryBytes: memory,
        };
        return step.describe(node.options, dctx);
      }
      default:
        return undefined;
    }
  } catch (err) {
    report(node, err, problems);
    return undefined;
  }
}

/** The estimate of the inline model at `option` of `node`, errors pointing inside it. */
function estimateModel(node: ResolvedNode, option: string, ctx: ModelContext, registry: Registry) {
  const spec = node.options[option] as { use?: string; options?: unknown } | undefined;
  if (!spec || typeof spec.use !== "string") return undefined;
  const plugin = registry.find("model", spec.use);
  if (!plugin?.estimate) return undefined;
  try {
    return plugin.estimate(plugin.options.parse(spec.options ?? {}), ctx);
  } catch (err) {
    if (err instanceof OptionError) throw err.within(option);
    if (err instanceof KtError) throw new OptionError(option, err.message, { hint: err.hint });
    throw err;
  }
}

function report(node: ResolvedNode, err: unknown, problems: Problems): void {
  const holder = `${node.kind} "${node.use}"`;
  if (err instanceof OptionError) {
    const where = err.where ? `${err.where}: ` : "";
    const text = `${where}${err.message}${err.hint ? ` — ${err.hint}` : ""}`;
    problems.add(optionLoc(node, err.option), `option "${err.option}" of ${holder}: ${text}`);
  } else if (err instanceof KtError) {
    problems.add(node.loc, `node "${node.name}" (${holder}): ${err.format()}`);
  } else {
    // A bug in the plugin's own check: its source line first, like a failure at run time.
    const frame = userFrame(err);
    problems.add(
      node.loc,
      `${frame ? `${frame}: ` : ""}${node.kind} plugin "${node.use}" of node "${node.name}" ` +
        `failed while checking its options: ${thrownSummary(err)}`,
    );
  }
}
