/**
 * `kt results`: the comparison table of a run.
 * @module
 */
import type { Command } from "commander";
import { KtError } from "../errors.ts";
import type { Registry } from "../registry.ts";
import { loadExperiment } from "../config/mod.ts";
import { openResults, requireResults, runNote, runState } from "../results.ts";
import { comparisonTable } from "../table.ts";
import { dirsOf, FORMAT_FLAG, printTable } from "./shared.ts";

/** Adds `kt results` to `program`. */
export function resultsCommand(program: Command, registry: Registry): void {
  program.command("results")
    .description("print the comparison table (mean ± std over seeds) of a run")
    .argument("<run>", "run directory (holding results.sqlite) or experiment YAML")
    .option(...FORMAT_FLAG)
    .option("--run-id <n>", "which sweep invocation (default: the latest)")
    .action(async (run: string, o) => {
      let runDir = run;
      if (/\.ya?ml$/.test(run)) runDir = dirsOf(await loadExperiment(run, registry), {}).runDir;
      requireResults(runDir);
      const db = openResults(runDir);
      try {
        const id = o.runId ? Number(o.runId) : db.latestRun()?.id;
        if (id === undefined) throw new KtError(`${runDir} holds no runs yet`);
        const trials = db.trials(id);
        const format = printTable(comparisonTable(trials), o.format);
        // An incomplete run says so, and which trials its table lacks.
        const run = db.runs().find((r) => r.id === id);
        const note = run && runNote(run, await runState(run, runDir), trials);
        if (note && format === "markdown") console.log(`\n> ${note}`);
        else if (note) console.error(note);
      } finally {
        db.close();
      }
    });
}
