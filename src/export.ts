/**
 * `kt export`: a trained model of a run — one node (`student`, `teacher`, ...) of one trial —
 * copied out of the cache as a tfjs layers model (`model.json` + `weights.bin`, every layer
 * named, the transferred layer recorded in the model's metadata), with a `kt.json` saying where
 * it came from. The `saved` teacher loads the directory back; so does `loadModel` from `mod.ts`
 * and tfjs's own `tf.loadLayersModel`.
 *
 * ```ts ignore
 * import { exportModel } from "./export.ts";
 * const out = await exportModel(loaded, {
 *   node: "student",
 *   trial: "method=pkt seed=0",
 *   cacheDir: ".kt/cache",
 *   runDir: "runs/quickstart",
 * });
 * out.dir; // runs/quickstart/export/student-4d55ace00ce8
 * ```
 * @module
 */
import { join } from "node:path";
import type { StepPlugin } from "./api.ts";
import { openCache } from "./cache.ts";
import { displayValue } from "./canonical.ts";
import type { LoadedExperiment, Trial } from "./config/mod.ts";
import { planTrial } from "./engine/execute.ts";
import { closestNames, KtError } from "./errors.ts";
import { writeFileAtomic } from "./io/files.ts";
import { provenanceContext } from "./provenance.ts";
import { KT_VERSION } from "./version.ts";

/** Options of {@linkcode exportModel}. */
export interface ExportOptions {
  /** The node whose model to export (a step producing a model: `transfer`, `trained-network`). */
  node: string;
  /** Which trial ({@linkcode selectTrial}); may be left out when the sweep has one trial. */
  trial?: string;
  cacheDir: string;
  /** The run directory: the default output is `<runDir>/export/<node>-<trial id>`. */
  runDir: string;
  /** Output directory (created). */
  out?: string;
}

/** What {@linkcode exportModel} wrote. */
export interface ExportedModel {
  dir: string;
  node: string;
  trial: Trial;
  /** The artifact's cache key. */
  key: string;
  /** Layer names, input first. */
  layers: string[];
  /** The layer transferred (`layer: representation`). */
  representation?: string;
  /** `[height, width, channels]` of the input, when the topology records it. */
  inputShape?: number[];
}

/**
 * The trial `selector` names: its id, its label (`method=pkt seed=0`), or some of its parameters
 * (`method=pkt,seed=0` or `method=pkt seed=0`: every pair must match, `seed` included). Throws a
 * {@linkcode KtError} listing the trials when none or several match.
 *
 * @example
 * ```ts
 * import { selectTrial } from "./export.ts";
 * const t = (label: string, method: string, seed: number) =>
 *   ({ id: label, label, params: { method }, seed, graph: {} }) as never;
 * const trials = [t("method=pkt seed=0", "pkt", 0), t("method=pkt seed=1", "pkt", 1)];
 * selectTrial(trials, "method=pkt,seed=1"); // the second
 * ```
 */
export function selectTrial(trials: readonly Trial[], selector?: string): Trial {
  const list = (ts: readonly Trial[]) =>
    ts.slice(0, 8).map((t) => `"${t.label}"`).join(", ") + (ts.length > 8 ? ", …" : "");
  if (selector === undefined) {
    if (trials.length === 1) return trials[0];
    throw new KtError(`the sweep has ${trials.length} trials; say which with --trial`, {
      where: "--trial",
      hint: `e.g. --trial "${trials[0]?.label}" (trials: ${list(trials)})`,
    });
  }
  const exact = trials.filter((t) => t.id === selector || t.label === selector);
  if (exact.length === 1) return exact[0];
  const pairs = selector.split(/[\s,]+/).filter(Boolean).map((p) => p.split("="));
  const matches = pairs.every((p) => p.length === 2 && p[0] !== "")
    ? trials.filter((t) =>
      pairs.every(([k, v]) =>
        k === "seed" ? String(t.seed) === v : k in t.params && displayValue(t.params[k]) === v
      )
    )
    : [];
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new KtError(`"${selector}" matches ${matches.length} trials: ${list(matches)}`, {
      where: "--trial",
      hint: "add the other parameters (e.g. the seed) or give the full label",
    });
  }
  const close = closestNames(selector, trials.map((t) => t.label));
  throw new KtError(`no trial "${selector}"`, {
    where: "--trial",
    hint: close.length > 0 ? `did you mean "${close[0]}"?` : `trials: ${list(trials)}`,
  });
}

/**
 * Writes the model of node `options.node` of the chosen trial, from the cache, as a tfjs layers
 * model directory; see the module doc. Throws {@linkcode KtError} when the node has no model or
 * is not in the cache.
 */
export async function exportModel(
  loaded: LoadedExperiment,
  options: ExportOptions,
): Promise<ExportedModel> {
  const { experiment } = loaded;
  const trial = selectTrial(loaded.trials, options.trial);
  const ctx = await provenanceContext(experiment, [trial], options.cacheDir);
  const plans = planTrial(trial, ctx);
  const modelNodes = [...plans.values()].filter((p) =>
    p.node.kind === "step" && (p.node.plugin as StepPlugin).output === "model"
  ).map((p) => p.name);
  const plan = plans.get(options.node);
  if (!plan || !modelNodes.includes(options.node)) {
    const what = plan
      ? `node "${options.node}" (${plan.node.use}) holds no trained model`
      : `no node "${options.node}"`;
    const close = closestNames(options.node, modelNodes);
    throw new KtError(what, {
      where: "--node",
      hint: (close.length > 0 && !plan ? `did you mean "${close[0]}"? ` : "") +
        `nodes with a model: ${modelNodes.join(", ") || "none"}`,
    });
  }
  const cache = await openCache(options.cacheDir, { onCorrupt: () => {} });
  const found = await cache.check(plan.key);
  if (found.status !== "hit") {
    throw new KtError(
      `${options.node} of trial "${trial.label}" is not in the cache ${options.cacheDir}` +
        (found.status === "corrupt" ? ` (its copy is corrupt: ${found.reason})` : ""),
      {
        hint: `run \`deno task sweep ${experiment.file}\` first (or give the --cache-dir it used)`,
      },
    );
  }
  const artifact = found.artifact;
  const modelJson = new TextDecoder().decode(await artifact.readFile("model.json"));
  const weights = await artifact.readFile("weights.bin");
  const topology = describeTopology(modelJson);
  const dir = options.out ?? join(options.runDir, "export", `${options.node}-${trial.id}`);
  const provenance = {
    format: "tfjs layers model (model.json + weights.bin)",
    experiment: experiment.name,
    file: experiment.file,
    node: options.node,
    plugin: plan.node.use,
    trial: { id: trial.id, label: trial.label, params: trial.params, seed: trial.seed },
    cacheKey: plan.key,
    layers: topology.layers,
    representation: topology.representation,
    inputShape: topology.inputShape,
    ktVersion: KT_VERSION,
    exported: new Date().toISOString(),
  };
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, "weights.bin"), weights);
    await writeFileAtomic(join(dir, "model.json"), new TextEncoder().encode(modelJson));
    await writeFileAtomic(
      join(dir, "kt.json"),
      new TextEncoder().encode(JSON.stringify(provenance, null, 2) + "\n"),
    );
  } catch (e) {
    throw new KtError(`cannot write the export: ${(e as Error).message}`, {
      where: dir,
      hint: e instanceof Deno.errors.NotCapable
        ? "the kt task writes only under .kt/ and runs/: choose --out inside runs/, or allow " +
          "the directory (--allow-write)"
        : "check that the folder is writable, or choose another --out",
      cause: e,
    });
  }
  return { dir, node: options.node, trial, key: plan.key, ...topology };
}

/** Layer names, the representation layer and the input shape recorded in a model.json. */
export function describeTopology(
  modelJson: string,
): { layers: string[]; representation?: string; inputShape?: number[] } {
  const json = JSON.parse(modelJson) as {
    modelTopology?: { config?: { layers?: unknown[] } | unknown[] };
    userDefinedMetadata?: { representation?: string };
  };
  const config = json.modelTopology?.config;
  const raw = (Array.isArray(config) ? config : config?.layers ?? []) as {
    name?: string;
    config?: { name?: string; batch_input_shape?: (number | null)[] };
  }[];
  const layers = raw.map((l) => l.name ?? l.config?.name ?? "?");
  const batchShape = raw.find((l) => l.config?.batch_input_shape)?.config?.batch_input_shape;
  return {
    layers,
    representation: json.userDefinedMetadata?.representation,
    inputShape: batchShape?.slice(1).map((d) => d ?? -1),
  };
}
