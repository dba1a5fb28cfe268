/**
 * How a job is computed in a fresh process: kt's own entry point (`main.ts worker`) started with
 * the narrowest permissions that work. The `local` executor starts it; {@linkcode runSweep} uses
 * it unless told otherwise.
 * @module
 */
import { resolve } from "node:path";
import type { JobSpec, WorkerCommand } from "../api.ts";
import { allowFlag, denoCommand } from "../permissions.ts";

/** kt's entry point (`main.ts`), whose `worker` command computes one job. */
export const KT_ENTRY: string = new URL("../../main.ts", import.meta.url).href;

/**
 * The command that starts a worker for `job` from `entry` (default: kt's own `main.ts`), with
 * the narrowest permissions that work: read anywhere, write only to the job's cache and run
 * directories, network only to the hosts of dataset URLs, no subprocesses, never a prompt. Flags
 * are built from checked parts (`allowFlag`), so no directory or host can widen them.
 *
 * @example
 * ```ts ignore
 * const { command, args, stdin } = workerCommand(job);
 * // deno run --no-prompt --config=<kt>/deno.json --allow-read --allow-write=<cache>,<run> ...
 * ```
 */
export function workerCommand(job: JobSpec, entry: string = KT_ENTRY): WorkerCommand {
  const path = entry.startsWith("file:") ? new URL(entry).pathname : entry;
  const config = resolve(path, "..", "deno.json");
  const net = allowFlag("--allow-net", job.netHosts);
  const args = [
    "run",
    "--no-prompt",
    `--config=${config}`,
    "--allow-read",
    allowFlag("--allow-write", [job.cacheDir, job.runDir])!,
    "--allow-env",
    "--allow-sys",
    ...(net === undefined ? [] : [net]),
    path,
    "worker",
  ];
  return { command: denoCommand(), args, stdin: JSON.stringify(job) };
}
