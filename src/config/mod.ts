/**
 * Experiment files: parse YAML, load the plugin files it lists, validate the graph against the
 * registry and expand the sweep into trials — everything checked before anything runs.
 *
 * ```ts ignore
 * import { loadExperiment } from "./src/config/mod.ts";
 * const { experiment, trials } = await loadExperiment("experiments/quickstart.yaml", registry);
 * for (const t of trials) console.log(t.id, t.label, t.graph.order);
 * ```
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { type BackendName, BACKENDS } from "../backend/names.ts";
import { closestNames, KtError } from "../errors.ts";
import { inputFileSize, readInputFile } from "../io/files.ts";
import { formatBytes } from "../memory.ts";
import { MAX_NAME_LENGTH, nameProblem, pathProblem, safeName } from "./names.ts";
import { loadPluginFile, type Registry } from "../registry.ts";
import type { Plugin } from "../api.ts";
import { expandTrials, parseSweep, type SweepSpec, type Trial } from "./expand.ts";
import { applyOverrides, checkSweptOverrides, type Override } from "./overrides.ts";
import {
  ConfigError,
  describeValue,
  type Loc,
  parseYaml,
  Problems,
  type SourceMap,
  type SourceValue,
  toPlain,
} from "./parse.ts";

export { canonicalJson } from "../canonical.ts";
export {
  BUILTIN_VARIABLES,
  type Distribution,
  expandTrials,
  type GridAxis,
  MAX_TRIALS,
  parseSweep,
  type RandomAxis,
  type SweepAxis,
  type SweepSpec,
  type Trial,
  trialConfig,
  trialId,
  trialLabel,
} from "./expand.ts";
export {
  ConfigError,
  formatProblem,
  type Loc,
  parseYaml,
  type Problem,
  type SourceValue,
} from "./parse.ts";
export {
  type NodeRef,
  type PluginSpec,
  type ResolvedGraph,
  type ResolvedNode,
} from "./validate.ts";

/** The experiment-level settings of a file (the graph itself lives in each trial). */
export interface Experiment {
  /** `name:` of the file. */
  name: string;
  /** The file as the user named it (used in messages). */
  file: string;
  /** Directory of the file; relative paths in it are relative to this. */
  dir: string;
  /** `backend:` (default `auto`). */
  backend: BackendName;
  /** `seed:` (default 0): the trial seed when the sweep has no `seeds:`. */
  seed: number;
  /** Absolute paths of the user plugin files it lists. */
  plugins: string[];
  /** The registry the graph was validated against: the given one plus the user plugins. */
  registry: Registry;
  /** `cacheDir:`, absolute. */
  cacheDir?: string;
  /** `runDir:`, absolute. */
  runDir?: string;
  /** The parsed sweep (axes, random draws, seeds). */
  sweep: SweepSpec;
}

/** The top-level keys an experiment file may have. */
export const TOP_LEVEL_KEYS = [
  "name",
  "backend",
  "seed",
  "plugins",
  "nodes",
  "sweep",
  "cacheDir",
  "runDir",
] as const;

/** An experiment file, checked and expanded. */
export interface LoadedExperiment {
  /** File-level settings and the registry used. */
  experiment: Experiment;
  /** Every trial of the sweep, in order (grid, then random points, then seeds). */
  trials: Trial[];
}

/**
 * Reads, validates and expands the experiment file at `path`. Throws {@linkcode ConfigError}
 * (a {@linkcode KtError}) listing every problem as `file:line:col: message` when the file is not
 * valid; throws {@linkcode KtError} when it cannot be read.
 */
export async function loadExperiment(
  path: string,
  registry: Registry,
  options: ExperimentOptions = {},
): Promise<LoadedExperiment> {
  let text: string;
  try {
    // A regular file of bounded size: never a FIFO, a device or a directory.
    const size = await inputFileSize(path, "name the experiment's .yaml file");
    if (size > MAX_EXPERIMENT_BYTES) {
      throw new KtError(
        `is ${formatBytes(size)}; an experiment file may hold at most ${
          formatBytes(MAX_EXPERIMENT_BYTES)
        }`,
        { where: path, hint: "describe the experiment's graph in YAML; keep data in data files" },
      );
    }
    text = new TextDecoder().decode(await readInputFile(path));
  } catch (e) {
    if (e instanceof KtError) {
      const why = e.message === "file not found" ? "not found" : e.message;
      throw new KtError(`cannot read experiment file ${resolve(path)}: ${why}`, {
        hint: e.hint,
        cause: e,
      });
    }
    throw new KtError(`cannot read experiment file ${resolve(path)}: ${String(e)}`, {
      cause: e,
    });
  }
  return await parseExperiment(text, path, registry, options);
}

/** Options of {@linkcode loadExperiment} and {@linkcode parseExperiment}. */
export interface ExperimentOptions {
  /**
   * Command-line overrides, `path=value` (`student.epochs=3`, `sweep.seeds=[0,1]`), applied to
   * the file before it is checked; see `overrides.ts`.
   */
  overrides?: readonly string[];
}

/** The largest experiment file kt reads. */
export const MAX_EXPERIMENT_BYTES = 1_000_000;

/**
 * Like {@linkcode loadExperiment} for text already in memory; `file` names it in messages and
 * its directory is the base of relative paths.
 *
 * @example
 * ```ts
 * import { parseExperiment } from "./mod.ts";
 * import { createRegistry } from "../registry.ts";
 * import { defineDataset, z } from "../api.ts";
 * const digits = defineDataset({
 *   name: "digits",
 *   description: "a fake dataset",
 *   options: z.object({ split: z.enum(["train", "test"]).default("train") }).strict(),
 *   load: () => Promise.reject(new Error("not in this example")),
 * });
 * const yaml = "name: demo\nnodes:\n  train: { use: digits }\nsweep: { seeds: [1, 2] }\n";
 * const { trials } = await parseExperiment(yaml, "demo.yaml", createRegistry([digits]));
 * trials.map((t) => t.label); // ["seed=1", "seed=2"]
 * ```
 */
export async function parseExperiment(
  text: string,
  file: string,
  registry: Registry,
  options: ExperimentOptions = {},
): Promise<LoadedExperiment> {
  const parsed = parseYaml(text, file);
  if (parsed.problems.length > 0) throw new ConfigError(parsed.problems);
  const problems = new Problems(file);
  const origin: Loc = { line: 1, col: 1, offset: 0 };
  let root = parsed.root;
  let overrides: Override[] = [];
  if (root?.type === "map" && options.overrides && options.overrides.length > 0) {
    const changed = applyOverrides(root, options.overrides, problems, TOP_LEVEL_KEYS);
    root = changed.root;
    overrides = changed.applied;
  }
  if (!root || root.type !== "map") {
    problems.add(
      root?.loc ?? origin,
      `an experiment file must be a map with "name" and "nodes", got ${
        root ? describeValue(toPlain(root)) : "an empty file"
      }`,
    );
    throw new ConfigError(problems.list);
  }
  const dir = dirname(resolve(file));
  const top = readTopLevel(root, problems, dir);

  // User plugins: each listed file, reported at its list item.
  const beforePlugins = problems.list.length;
  const extra: Plugin[] = [];
  const paths: string[] = [];
  for (const item of top.pluginItems) {
    if (item.type !== "scalar" || typeof item.value !== "string" || item.value === "") {
      problems.add(item.loc, `plugins: expected a file path, got ${describeValue(toPlain(item))}`);
      continue;
    }
    try {
      extra.push(await loadPluginFile(item.value, dir));
      paths.push(isAbsolute(item.value) ? item.value : resolve(dir, item.value));
    } catch (e) {
      if (!(e instanceof KtError)) throw e;
      problems.add(item.loc, e.hint ? `${e.message} — ${e.hint}` : e.message);
    }
  }
  let full = registry;
  if (extra.length > 0) {
    try {
      full = registry.with(extra);
    } catch (e) {
      if (!(e instanceof KtError)) throw e;
      problems.add(top.pluginsLoc ?? root.loc, e.message);
    }
  }

  const sweep = parseSweep(top.sweep, problems);
  checkSweptOverrides(overrides, [...sweep.grid, ...(sweep.random?.axes ?? [])], problems, file);
  // The graph is checked unless plugins or the sweep are broken (that would only add echoes:
  // unknown plugins, undefined variables); other top-level problems are reported alongside.
  let trials: Trial[] = [];
  if (top.nodes && problems.list.length === beforePlugins) {
    trials = expandTrials(top.nodes, sweep, full, problems, top.seed);
  }
  if (problems.list.length > 0) throw new ConfigError(problems.list);

  const experiment: Experiment = {
    name: top.name!,
    file,
    dir,
    backend: top.backend,
    seed: top.seed,
    plugins: paths,
    registry: full,
    cacheDir: top.cacheDir,
    runDir: top.runDir,
    sweep,
  };
  return { experiment, trials };
}

interface TopLevel {
  name?: string;
  backend: BackendName;
  seed: number;
  pluginItems: SourceValue[];
  pluginsLoc?: Loc;
  nodes?: SourceMap;
  sweep?: SourceValue;
  cacheDir?: string;
  runDir?: string;
}

function readTopLevel(root: SourceMap, problems: Problems, dir: string): TopLevel {
  const top: TopLevel = { backend: "auto", seed: 0, pluginItems: [] };
  const string = (v: SourceValue, key: string): string | undefined => {
    if (v.type === "scalar" && typeof v.value === "string" && v.value !== "") return v.value;
    problems.add(v.loc, `"${key}" must be a non-empty string, got ${describeValue(toPlain(v))}`);
    return undefined;
  };
  const pathOf = (v: SourceValue, key: string) => {
    const s = string(v, key);
    if (s === undefined) return undefined;
    const problem = pathProblem(s);
    if (problem) {
      problems.add(v.loc, `"${key}" ${problem}: ${JSON.stringify(s)}; choose another directory`);
      return undefined;
    }
    return resolve(dir, s);
  };
  for (const e of root.entries) {
    const v = e.value;
    switch (e.key) {
      case "name": {
        const s = string(v, "name");
        const problem = s === undefined ? undefined : nameProblem(s);
        if (problem) {
          const shown = (t: string) => JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
          const fix = s!.length > MAX_NAME_LENGTH
            ? "shorten it"
            : `e.g. name: ${shown(safeName(s!))}`;
          problems.add(
            v.loc,
            `"name" ${problem}: ${shown(s!)} (it names the run directory runs/<name>); ${fix}`,
          );
        } else top.name = s;
        break;
      }
      case "backend": {
        const s = string(v, "backend");
        if (s === undefined) break;
        if ((BACKENDS as readonly string[]).includes(s)) top.backend = s as BackendName;
        else {
          problems.add(
            v.loc,
            `unknown backend "${s}"; expected one of ${BACKENDS.join(", ")}`,
          );
        }
        break;
      }
      case "seed":
        if (v.type === "scalar" && Number.isInteger(v.value) && (v.value as number) >= 0) {
          top.seed = v.value as number;
        } else {
          problems.add(
            v.loc,
            `"seed" must be an integer >= 0, got ${describeValue(toPlain(v))}`,
          );
        }
        break;
      case "plugins":
        top.pluginsLoc = v.loc;
        if (v.type === "seq") top.pluginItems = v.items;
        else {
          problems.add(
            v.loc,
            `"plugins" must be a list of plugin files, e.g. plugins: [./my_loss.ts]`,
          );
        }
        break;
      case "nodes":
        if (v.type === "map" && v.entries.length > 0) top.nodes = v;
        else {
          problems.add(
            v.loc,
            `"nodes" must be a map of node name → { use: <plugin>, ...options }, got ${
              describeValue(toPlain(v))
            }`,
          );
        }
        break;
      case "sweep":
        top.sweep = v;
        break;
      case "results":
        // Parsed and never used by kt up to 0.1.0; the run directory is what it meant.
        problems.add(
          e.keyLoc,
          `"results" is not a setting: a run's results go to its run directory ` +
            `(results.sqlite in runs/<name>); to put them elsewhere write runDir: <dir>`,
        );
        break;
      case "cacheDir":
        top.cacheDir = pathOf(v, "cacheDir");
        break;
      case "runDir":
        top.runDir = pathOf(v, "runDir");
        break;
      default: {
        const known = [...TOP_LEVEL_KEYS];
        const close = closestNames(e.key, known);
        const tail = close.length > 0
          ? `did you mean "${close[0]}"?`
          : `known: ${known.join(", ")}`;
        problems.add(e.keyLoc, `unknown top-level key "${e.key}"; ${tail}`);
      }
    }
  }
  if (top.name === undefined && !root.entries.some((e) => e.key === "name")) {
    problems.add(root.loc, `missing "name": give the experiment a name, e.g. name: pkt-vs-kd`);
  }
  if (!root.entries.some((e) => e.key === "nodes")) {
    problems.add(root.loc, `missing "nodes": the experiment graph (node name → { use: ... })`);
  }
  return top;
}
