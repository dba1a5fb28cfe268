/**
 * The `kt` command line (commander): one module per command under `cli/`, wired here. The entry
 * point passes the plugin set in, so the engine never imports a concrete plugin.
 * @module
 */
import { Command, CommanderError } from "commander";
import type { Plugin } from "./api.ts";
import { describeError } from "./errors.ts";
import { versionText } from "./version.ts";
import { createRegistry, type Registry } from "./registry.ts";
import { type CliEnv, ExitCode } from "./cli/shared.ts";
import { trainCommand } from "./cli/train.ts";
import { sweepCommand } from "./cli/sweep.ts";
import { planCommand } from "./cli/plan.ts";
import { resultsCommand } from "./cli/results.ts";
import { compareCommand } from "./cli/compare.ts";
import { reportCommand } from "./cli/report.ts";
import { exportCommand } from "./cli/export.ts";
import { doctorCommand } from "./cli/doctor.ts";
import { pluginsCommand } from "./cli/plugins.ts";
import { cacheCommand } from "./cli/cache.ts";
import { workerCommand as workerSubcommand } from "./cli/worker.ts";

export { type CliEnv, parseOptions } from "./cli/shared.ts";
export { workerCommand } from "./cli/sweep.ts";

/** The `kt` program: its global flags and every command, in help order. */
function buildProgram(plugins: Plugin[], env: CliEnv): Command {
  const registry: Registry = createRegistry(plugins);
  const program = new Command("kt")
    .description("kt — declarative knowledge-transfer experiments (PKT, Hinton KD, FitNets)")
    .version(versionText(), "-V, --version", "print kt's and Deno's versions")
    .option("--debug", "print the stack trace of an error (for bug reports)")
    .option("--verbose", "a line for every job that starts, reports an epoch or ends")
    .exitOverride()
    .showHelpAfterError();
  trainCommand(program, registry);
  sweepCommand(program, registry, env);
  planCommand(program, registry);
  resultsCommand(program, registry);
  compareCommand(program, registry);
  reportCommand(program, registry);
  exportCommand(program, registry);
  doctorCommand(program);
  pluginsCommand(program, registry);
  cacheCommand(program);
  workerSubcommand(program, registry);
  return program;
}

/** Runs the CLI; returns the exit code. User errors print one line (no stack trace). */
export async function runCli(args: string[], plugins: Plugin[], env: CliEnv): Promise<number> {
  const program = buildProgram(plugins, env);
  // Before parsing, so that errors of the parsing itself show their stack too.
  const debug = args.includes("--debug");
  if (debug) Deno.env.set("KT_DEBUG", "1"); // worker processes inherit it
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ExitCode) return err.code;
    console.error(`error: ${describeError(err, debug)}`);
    return 1;
  }
}
