/**
 * What the `kt` commands share: plugin options from flags, the experiment's directories, the
 * table printer and the exit-code signal.
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import type { PluginContext } from "../api.ts";
import { KtError } from "../errors.ts";
import { choiceFlag, jsonObjectFlag } from "../flags.ts";
import type { LoadedExperiment } from "../config/mod.ts";
import { openResults, requireResults } from "../results.ts";
import type { ComparisonTable } from "../table.ts";
import { formatTable, TABLE_FORMAT_NAMES, tableFormat } from "../table_format.ts";

/**
 * Checks plugin options (JSON text, or a value already parsed from it) against the plugin's
 * schema, with a readable error naming `flag`.
 */
export function parseOptions<O>(
  plugin: {
    name: string;
    options: {
      safeParse(
        v: unknown,
      ): { success: true; data: O } | {
        success: false;
        error: { issues: { path: PropertyKey[]; message: string }[] };
      };
    };
  },
  json: string | Record<string, unknown>,
  flag: string,
): O {
  const raw = typeof json === "string" ? jsonObjectFlag(flag, '{"filters":[16,32]}')(json) : json;
  const parsed = plugin.options.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      `${i.path.map(String).join(".") || "(root)"}: ${i.message}`
    );
    throw new KtError(`invalid options for ${plugin.name}: ${issues.join("; ")}`, {
      where: flag,
      hint: "run `deno task kt plugins` to see each plugin's options",
    });
  }
  return parsed.data;
}

/** The context plugins are called with by `kt train`. */
export function pluginContext(seed: number, cacheDir: string): PluginContext {
  return { cacheDir, seed, log: (m) => console.error(m) };
}

/** Where the CLI runs from: the entry file workers are started with. */
export interface CliEnv {
  /** Absolute path or file URL of the entry point (main.ts). */
  entry: string;
}

/** The artifact cache when neither a flag nor the experiment names one. */
export const DEFAULT_CACHE = ".kt/cache";

export function abs(path: string): string {
  return isAbsolute(path) ? path : resolve(Deno.cwd(), path);
}

/** Cache and run directories of an experiment (CLI flags win over the file, then defaults). */
export function dirsOf(loaded: LoadedExperiment, o: { cacheDir?: string; runDir?: string }) {
  return {
    cacheDir: abs(o.cacheDir ?? loaded.experiment.cacheDir ?? DEFAULT_CACHE),
    runDir: abs(o.runDir ?? loaded.experiment.runDir ?? join("runs", loaded.experiment.name)),
  };
}

export const OVERRIDES_HELP = "changes to the experiment, path=value (YAML): student.epochs=3 " +
  "'sweep.seeds=[0,1]' backend=cpu (a path starting with a node's name is under nodes)";

/** The experiment file of `run`: a YAML file itself, or the one a run directory recorded. */
export function experimentOf(run: string): string {
  if (/\.ya?ml$/.test(run)) return run;
  requireResults(run);
  const db = openResults(run);
  try {
    const file = db.latestRun()?.file;
    if (!file) {
      throw new KtError(`${run} records no experiment file`, {
        hint: "name the experiment's .yaml file instead",
      });
    }
    return file;
  } finally {
    db.close();
  }
}

/** `--format`: the table's format; default `text` on a terminal, `md` when piped. */
export const FORMAT_FLAG = [
  "--format <format>",
  "table format: text | md | csv | json (default: text on a terminal, md otherwise)",
  choiceFlag("--format", TABLE_FORMAT_NAMES),
] as const;

/** Prints a table in the `--format` asked for (or the default); returns the format used. */
export function printTable(table: ComparisonTable, name: string | undefined) {
  const terminal = Deno.stdout.isTerminal();
  const format = tableFormat(name ?? (terminal ? "text" : "markdown"));
  const width = terminal
    ? Deno.consoleSize().columns
    : Number(Deno.env.get("COLUMNS")) || undefined;
  const color = terminal && !Deno.env.get("NO_COLOR");
  console.log(formatTable(table, format, { width, color }).trimEnd());
  return format;
}

/** Thrown by commands to exit with a status without printing an error. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
