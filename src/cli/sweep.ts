/**
 * `kt sweep`: runs (or resumes) every trial of an experiment and prints the comparison table;
 * {@linkcode workerCommand} is how its local executor starts a worker.
 * @module
 */
import type { Command, OptionValues } from "commander";
import { join } from "node:path";
import type { JobSpec, WorkerCommand } from "../api.ts";
import { dirFlag, intFlag, jsonObjectFlag } from "../flags.ts";
import type { Registry } from "../registry.ts";
import { loadExperiment } from "../config/mod.ts";
import { runJobInProcess } from "../engine/execute.ts";
import { preflight } from "../engine/preflight.ts";
import { runSweep, type SweepReport } from "../engine/sweep.ts";
import { comparisonTable } from "../table.ts";
import { denoCommand } from "../permissions.ts";
import { workerCommand as workerProcess } from "../engine/worker_command.ts";
import {
  type CliEnv,
  dirsOf,
  ExitCode,
  FORMAT_FLAG,
  OVERRIDES_HELP,
  parseOptions,
  printTable,
} from "./shared.ts";

/** Adds `kt sweep` to `program`. */
export function sweepCommand(program: Command, registry: Registry, env: CliEnv): void {
  program.command("sweep")
    .description("run (or resume) every trial of an experiment file and print the comparison table")
    .argument("<file>", "experiment YAML")
    .argument("[overrides...]", OVERRIDES_HELP)
    .option(
      "-j, --jobs <n>",
      "parallel jobs",
      intFlag("--jobs", { min: 1, max: 1024, example: "2" }),
      navigator.hardwareConcurrency || 2,
    )
    .option(
      "--executor <name>",
      "where jobs run: local (worker processes) | inline | slurm",
      "local",
    )
    .option(
      "--executor-options <json>",
      "executor options (JSON)",
      jsonObjectFlag("--executor-options", '{"jobs":2}'),
      {},
    )
    .option(
      "--cache-dir <dir>",
      "artifact cache (default: the file's cacheDir or .kt/cache)",
      dirFlag("--cache-dir", ".kt/cache"),
    )
    .option(
      "--run-dir <dir>",
      "run directory with results.sqlite (default: runs/<name>)",
      dirFlag("--run-dir", "runs/my-run"),
    )
    .option(...FORMAT_FLAG)
    .addHelpText(
      "after",
      `
Examples:
  deno task sweep experiments/quickstart.yaml
  deno task sweep experiments/quickstart.yaml student.epochs=1 'sweep.seeds=[0,1,2]'
  deno task sweep experiments/mnist_pkt.yaml --jobs 2 --format csv`,
    )
    .action(async (file: string, overrides: string[], o) => {
      const verbose = program.opts().verbose === true;
      await sweep(registry, env, file, overrides, o, verbose);
    });
}

/** Runs the sweep of `file` as the flags `o` say and prints its table and summary. */
async function sweep(
  registry: Registry,
  env: CliEnv,
  file: string,
  overrides: string[],
  o: OptionValues,
  verbose: boolean,
): Promise<void> {
  const loaded = await loadExperiment(file, registry, { overrides });
  const { cacheDir, runDir } = dirsOf(loaded, o);
  await preflight(loaded, { cacheDir: join(cacheDir, "datasets") });
  const executor = loaded.experiment.registry.get("executor", o.executor);
  const executorOptions = parseOptions(executor, o.executorOptions, "--executor-options");
  // Workers start with this deno: say now, before anything runs, if kt may not start it.
  if (o.executor !== "inline") denoCommand();
  const backend = {};
  const report = await runSweep(loaded, {
    // Ctrl-C: ask on a terminal, else stop at once; running trials end up interrupted.
    interrupt: Deno.stdin.isTerminal() ? "ask" : "stop",
    cacheDir,
    runDir,
    jobs: o.jobs,
    executor,
    executorOptions,
    workerCommand: (job) => workerCommand(env, job),
    runInProcess: (job, events) => runJobInProcess(loaded, job, events, backend),
    verbose,
  });
  printSweepSummary(report, runDir, o.format);
}

/**
 * The table of a finished sweep on stdout, then on stderr what ran, what was cached and which
 * trials failed; throws the exit code of an interrupted (130) or failed (1) sweep.
 */
function printSweepSummary(report: SweepReport, runDir: string, format: string | undefined): void {
  printTable(comparisonTable(report.trials), format);
  const executed = Object.entries(report.executed).map(([k, v]) => `${k} ×${v}`).join(", ");
  const finished = report.trials.length - report.failed - report.interrupted;
  console.error(
    `${report.trials.length} trials: ${finished} finished, ${report.failed} failed` +
      (report.interrupted > 0 ? `, ${report.interrupted} interrupted` : "") +
      ` · ran ${executed || "nothing (all cached)"} · ` +
      `${report.cached} cached${cacheSaving(report)}` +
      (report.reused > 0 ? ` (${report.reused} computed by another sweep meanwhile)` : "") +
      ` · ${report.seconds.toFixed(1)} s · results: ${runDir}/results.sqlite`,
  );
  for (
    const t of report.trials.filter((t) => t.status === "failed" || t.status === "diverged")
  ) {
    console.error(`  ${t.status}: ${t.label}: ${t.reason}`);
  }
  if (report.status === "interrupted") {
    console.error(
      `interrupted: ${report.interrupted} trial(s) did not finish; rerun the sweep to finish ` +
        "them (cached work is reused)",
    );
    throw new ExitCode(130);
  }
  if (report.failed > 0) throw new ExitCode(1);
}

/** The command that starts a worker for `job` from this entry point (see the engine's). */
export function workerCommand(env: CliEnv, job: JobSpec): WorkerCommand {
  return workerProcess(job, env.entry);
}

/** " (read in 0.12 s; computing them took 35.6 s)" for a report with cache hits, else "". */
function cacheSaving(
  report: { cached: number; cacheReadSeconds: number; cachedComputeSeconds: number },
): string {
  if (report.cached === 0) return "";
  const read = `read in ${report.cacheReadSeconds.toFixed(2)} s`;
  return report.cachedComputeSeconds > 0
    ? ` (${read}; computing them took ${report.cachedComputeSeconds.toFixed(1)} s)`
    : ` (${read})`;
}
