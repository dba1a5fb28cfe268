/**
 * The plugin registry: a typed map from (kind, name) to plugin. The engine resolves every `use:`
 * in an experiment file here; built-ins and the user plugin files an experiment lists are
 * registered the same way, so core code never imports a concrete plugin.
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type DatasetPlugin,
  type ExecutorPlugin,
  type LossPlugin,
  type MetricPlugin,
  type ModelPlugin,
  type Plugin,
  PLUGIN_KINDS,
  type PluginKind,
  type StepPlugin,
  type TeacherPlugin,
} from "./api.ts";
import { KtError, stripAnsi, thrownSummary, unknownNameMessage, userFrame } from "./errors.ts";
import { type HashedSource, moduleHash } from "./source_hash.ts";

/** The plugin type of each kind. */
export interface PluginOfKind {
  /** Dataset plugins. */
  dataset: DatasetPlugin<unknown>;
  /** Model plugins. */
  model: ModelPlugin<unknown>;
  /** Teacher plugins. */
  teacher: TeacherPlugin<unknown>;
  /** Loss plugins. */
  loss: LossPlugin<unknown>;
  /** Metric plugins. */
  metric: MetricPlugin<unknown>;
  /** Engine steps (train, features, transfer, evaluate). */
  step: StepPlugin<unknown>;
  /** Where jobs run. */
  executor: ExecutorPlugin<unknown>;
}

/** Plugins by kind and name. */
export interface Registry {
  /** Adds a plugin; throws {@linkcode KtError} if its kind already has that name. */
  register(plugin: Plugin): void;
  /**
   * The plugin `name` of `kind`; throws {@linkcode KtError} with close matches
   * (`unknown loss "pktt"; did you mean "pkt"?`) when there is none.
   */
  get<K extends PluginKind>(kind: K, name: string): PluginOfKind[K];
  /** The plugin `name` of `kind`, or undefined. */
  find<K extends PluginKind>(kind: K, name: string): PluginOfKind[K] | undefined;
  /** Plugins named `name`, of any kind (a name may be reused across kinds). */
  findAny(name: string): Plugin[];
  /** Plugins of `kind` (or all), in registration order. */
  list<K extends PluginKind>(kind: K): PluginOfKind[K][];
  /** Every plugin, in registration order. */
  list(): Plugin[];
  /** Names of the plugins of `kind` (or all). */
  names(kind?: PluginKind): string[];
  /** A new registry holding these plugins plus `more` (this one is unchanged). */
  with(more: Plugin[]): Registry;
}

const FUNCTIONS: Record<PluginKind, string> = {
  dataset: "load",
  model: "build",
  teacher: "extract",
  loss: "create",
  metric: "compute",
  step: "run",
  executor: "create",
};

/**
 * Creates a registry holding `plugins`.
 *
 * @example
 * ```ts
 * import { createRegistry } from "./registry.ts";
 * import { defineLoss, z } from "./api.ts";
 * const pkt = defineLoss({
 *   name: "pkt",
 *   description: "probabilistic knowledge transfer",
 *   options: z.object({}).strict(),
 *   create: () => ({ compute: () => { throw new Error("not in this example"); } }),
 * });
 * const registry = createRegistry([pkt]);
 * registry.get("loss", "pkt").name; // "pkt"
 * ```
 */
export function createRegistry(plugins: Plugin[] = []): Registry {
  const byKind = new Map<PluginKind, Map<string, Plugin>>(
    PLUGIN_KINDS.map((k) => [k, new Map<string, Plugin>()]),
  );
  const order: Plugin[] = [];
  const registry: Registry = {
    register(plugin) {
      const problem = pluginShapeProblem(plugin);
      if (problem) throw new KtError(`cannot register plugin: ${problem}`);
      const table = byKind.get(plugin.kind)!;
      if (table.has(plugin.name)) {
        throw new KtError(`duplicate ${plugin.kind} "${plugin.name}": registered twice`, {
          hint: "give one of them another name",
        });
      }
      table.set(plugin.name, plugin);
      order.push(plugin);
    },
    get(kind, name) {
      const found = registry.find(kind, name);
      if (!found) {
        throw new KtError(unknownNameMessage(kind, name, registry.names(kind)), {
          hint: "`kt plugins` lists every plugin",
        });
      }
      return found;
    },
    find<K extends PluginKind>(kind: K, name: string) {
      return byKind.get(kind)?.get(name) as PluginOfKind[K] | undefined;
    },
    findAny(name) {
      return order.filter((p) => p.name === name);
    },
    list(kind?: PluginKind) {
      return order.filter((p) => kind === undefined || p.kind === kind);
    },
    names(kind) {
      return [
        ...new Set(registry.list().filter((p) => !kind || p.kind === kind).map((p) => p.name)),
      ];
    },
    with(more) {
      return createRegistry([...order, ...more]);
    },
  } as Registry;
  for (const p of plugins) registry.register(p);
  return registry;
}

/** Why `value` is not a plugin object, or undefined when it is one. */
export function pluginShapeProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "not an object";
  const p = value as Record<string, unknown>;
  if (typeof p.kind !== "string" || !(PLUGIN_KINDS as readonly string[]).includes(p.kind)) {
    return `"kind" must be one of ${PLUGIN_KINDS.join(", ")} (use a defineX helper)`;
  }
  if (typeof p.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(p.name)) {
    return `"name" must be a non-empty name of letters, digits, "-", "_" or "."`;
  }
  const options = p.options as { safeParse?: unknown } | undefined;
  if (typeof options !== "object" || options === null || typeof options.safeParse !== "function") {
    return `${p.kind} "${p.name}" needs "options": a zod schema (e.g. z.object({}).strict())`;
  }
  const fn = FUNCTIONS[p.kind as PluginKind];
  if (typeof p[fn] !== "function") return `${p.kind} "${p.name}" needs a "${fn}" function`;
  return undefined;
}

/**
 * Imports user plugin files (as listed under `plugins:` in an experiment, relative to
 * `baseDir`). Each file must default-export a plugin made with a defineX helper. Only local
 * files are accepted: an experiment file runs no code except the plugin files it lists.
 *
 * @example
 * ```ts ignore
 * const plugins = await loadUserPlugins(["./my_loss.ts"], "experiments");
 * const registry = createRegistry([...builtinPlugins, ...plugins]);
 * ```
 */
export async function loadUserPlugins(paths: string[], baseDir: string): Promise<Plugin[]> {
  const out: Plugin[] = [];
  for (const path of paths) out.push(await loadPluginFile(path, baseDir));
  return out;
}

/** Imports one plugin file; throws {@linkcode KtError} naming the file when it is unusable. */
export async function loadPluginFile(path: string, baseDir: string): Promise<Plugin> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) && !/^[a-z]:[\\/]/i.test(path)) {
    throw new KtError(`plugin "${path}" is not a local file`, {
      hint: "list plugin files by path, e.g. plugins: [./my_loss.ts]",
    });
  }
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  try {
    const stat = await Deno.stat(full);
    if (!stat.isFile) throw new KtError(`plugin file ${path} is not a file`);
  } catch (e) {
    if (e instanceof KtError) throw e;
    throw new KtError(`plugin file ${path} not found (looked at ${full})`, {
      hint: "plugin paths are relative to the experiment file",
      cause: e,
    });
  }
  // Hashed before the import, so the hash describes (at the latest) the code that runs.
  const sha256 = await moduleHash(full);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(full).href);
  } catch (e) {
    // Its own line first: where in the plugin (or a module it imports) the error was thrown.
    const frame = userFrame(e) ?? moduleLocation(e);
    throw new KtError(
      `plugin file ${path} failed to load: ${frame ? `${frame}: ` : ""}${thrownSummary(e)}`,
      { cause: e },
    );
  }
  const plugin = mod.default;
  if (plugin === undefined) {
    throw new KtError(`plugin file ${path} has no default export`, {
      hint: "end it with `export default defineLoss({ ... })` (or defineModel, defineDataset, ...)",
    });
  }
  const problem = pluginShapeProblem(plugin);
  if (problem) {
    throw new KtError(`plugin file ${path}: default export is not a plugin: ${problem}`, {
      hint: "export default defineLoss({ name, description, options, create }) or another defineX",
    });
  }
  sources.set(plugin as Plugin, { path: full, sha256 });
  return plugin as Plugin;
}

const sources = new WeakMap<Plugin, HashedSource>();

/**
 * The file a user plugin was loaded from ({@linkcode loadPluginFile}) with the hash of its code
 * and the local modules it imports; `undefined` for built-in plugins.
 */
export function pluginSource(plugin: Plugin): HashedSource | undefined {
  return sources.get(plugin);
}

/** `path:line:col` that Deno names in a module's syntax or resolution error, if any. */
function moduleLocation(err: unknown): string | undefined {
  const text = stripAnsi(err instanceof Error ? err.message : String(err));
  const m = /at (file:\/\/[^\s]+?):(\d+):(\d+)/.exec(text);
  return m ? `${decodeURIComponent(new URL(m[1]).pathname)}:${m[2]}:${m[3]}` : undefined;
}
