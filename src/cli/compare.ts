/**
 * `kt compare`: one table across runs or experiments.
 * @module
 */
import type { Command } from "commander";
import { KtError } from "../errors.ts";
import type { Registry } from "../registry.ts";
import { loadExperiment } from "../config/mod.ts";
import { openResults, requireResults } from "../results.ts";
import { compareMetricNames, isFinished } from "../table.ts";
import { compareRuns, sourceLabels } from "../compare.ts";
import { dirsOf, FORMAT_FLAG, printTable } from "./shared.ts";

/** Adds `kt compare` to `program`. */
export function compareCommand(program: Command, registry: Registry): void {
  program.command("compare")
    .description(
      "one table across runs or experiments: per metric a column per run, each with its own " +
        "significance marks; two runs of one experiment also get the change of each method",
    )
    .argument("<runs...>", "run directories or experiment YAML files; <run>@<id> picks a run")
    .option(...FORMAT_FLAG)
    .option(
      "--metrics <names>",
      "comma-separated metrics, or all (default: mAP when every run has it)",
    )
    .option("--diff", "the change columns for two runs even of different experiments")
    .addHelpText(
      "after",
      `
Examples:
  deno task kt compare runs/mnist-pkt runs/fashion-mnist-pkt
  deno task kt compare runs/quickstart@1 runs/quickstart@2 --metrics mAP,P@10`,
    )
    .action(async (runs: string[], o) => {
      const sources = [];
      for (const arg of runs) {
        const at = /^(.*)@(\d+)$/.exec(arg);
        const path = at ? at[1] : arg;
        const runDir = /\.ya?ml$/.test(path)
          ? dirsOf(await loadExperiment(path, registry), {}).runDir
          : path;
        requireResults(runDir);
        const db = openResults(runDir);
        try {
          const all = db.runs();
          const run = at ? all.find((r) => r.id === Number(at[2])) : all[all.length - 1];
          if (!run) {
            throw new KtError(
              at ? `${runDir} has no run ${at[2]}` : `${runDir} holds no runs yet`,
              { hint: all.length > 0 ? `runs: ${all.map((r) => r.id).join(", ")}` : undefined },
            );
          }
          sources.push({
            experiment: run.experiment,
            runDir,
            runId: run.id,
            trials: db.trials(run.id),
          });
        } finally {
          db.close();
        }
      }
      const labels = sourceLabels(sources);
      const metrics = o.metrics === undefined || o.metrics === "all"
        ? undefined
        : String(o.metrics).split(",").map((m) => m.trim()).filter(Boolean);
      const table = compareRuns(
        sources.map((s, i) => ({ ...s, label: labels[i] })),
        { metrics: o.metrics === "all" ? allMetrics(sources) : metrics, diff: o.diff === true },
      );
      printTable(table, o.format);
      sources.forEach((s, i) =>
        console.error(`${labels[i]}: ${s.runDir} run ${s.runId} (${s.trials.length} trials)`)
      );
    });
}

/** Every metric of the runs' finished trials, in table order. */
function allMetrics(sources: { trials: { status: string; metrics: Record<string, number> }[] }[]) {
  const names = new Set<string>();
  for (const s of sources) {
    for (const t of s.trials) {
      if (isFinished(t.status)) {
        Object.keys(t.metrics).forEach((m) => names.add(m));
      }
    }
  }
  return [...names].sort(compareMetricNames);
}
