/**
 * Slurm plumbing for the `slurm` executor: the batch script a job runs, the `sbatch` flags its
 * options become, and reading job states from `squeue` / `sacct` / `scontrol` output. The pure
 * functions (script, flags, parsing, classification) are separate from the ones that run Slurm's
 * commands so that they can be tested without a cluster.
 * @module
 */
import { KtError } from "../../mod.ts";

/** Slurm job states after which a job never runs again. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
  "NODE_FAIL",
  "PREEMPTED",
  "OUT_OF_MEMORY",
  "BOOT_FAIL",
  "DEADLINE",
  "SPECIAL_EXIT",
  "REVOKED",
]);

/** What Slurm says about one job. */
export interface SlurmJobInfo {
  /** Job id as Slurm prints it. */
  id: string;
  /** Base state, e.g. `RUNNING`, `TIMEOUT` (`CANCELLED by 0` becomes `CANCELLED`). */
  state: string;
  /** Slurm's reason, e.g. `TimeLimit`, `DependencyNeverSatisfied`, `None`. */
  reason: string;
  /** Node(s) the job ran on ("" while pending). */
  nodes: string;
  /** Exit code of the batch script, when known. */
  exitCode?: number;
}

/** The files of one job, all in the run directory (which compute nodes must share). */
export interface JobFiles {
  /** The batch script. */
  script: string;
  /** The worker's stdin (the job spec JSON). */
  stdin: string;
  /** The worker's stdout: `@kt` protocol lines. */
  stdout: string;
  /** The worker's stderr. */
  stderr: string;
  /** Slurm's own output file for the batch script (`--output`). */
  slurmLog: string;
  /** Written by the batch script when the worker exits: its exit code. */
  exit: string;
}

/** Exit code the batch script uses when a compute node cannot see the job's files. */
export const NOT_SHARED_EXIT = 97;

/** Quotes a string for a POSIX shell (single quotes). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Resource requests of the slurm executor's options. */
export interface SbatchRequest {
  partition?: string;
  gpus?: number;
  time?: string;
  cpus?: number;
  mem?: string;
  account?: string;
  /** Extra flags, passed as written (e.g. `--qos=short`). */
  sbatchArgs?: string[];
}

/**
 * The `sbatch` flags of a resource request, e.g. `{ partition: "debug", gpus: 1 }` →
 * `["--partition=debug", "--gres=gpu:1"]`.
 *
 * @example
 * ```ts
 * import { sbatchFlags } from "./_slurm.ts";
 * sbatchFlags({ partition: "debug", time: "0:10:00" }); // ["--partition=debug", "--time=0:10:00"]
 * ```
 */
export function sbatchFlags(r: SbatchRequest): string[] {
  const flags: string[] = [];
  if (r.partition) flags.push(`--partition=${r.partition}`);
  if (r.account) flags.push(`--account=${r.account}`);
  if (r.gpus) flags.push(`--gres=gpu:${r.gpus}`);
  if (r.time) flags.push(`--time=${r.time}`);
  if (r.cpus) flags.push(`--cpus-per-task=${r.cpus}`);
  if (r.mem) flags.push(`--mem=${r.mem}`);
  return [...flags, ...(r.sbatchArgs ?? [])];
}

/**
 * The `sbatch` flags that hold paths (Slurm's output file, working directory): given on the
 * command line, not as `#SBATCH` lines, which cannot hold paths with spaces.
 */
export function submitPaths(spec: { cwd: string; files: JobFiles }): string[] {
  return [`--output=${spec.files.slurmLog}`, `--chdir=${spec.cwd}`];
}

/** What goes into a batch script. */
export interface BatchScriptSpec {
  /** Slurm job name. */
  name: string;
  /** A comment line (which kt job this is). */
  comment: string;
  /** `sbatch` flags, written as `#SBATCH` lines. */
  flags: string[];
  /** Working directory of the job. */
  cwd: string;
  command: string;
  args: string[];
  files: JobFiles;
}

/**
 * The batch script of a job: checks that the node sees the job's files, runs the worker with its
 * stdin/stdout/stderr redirected to files in the run directory, and writes the exit marker.
 * The `#SBATCH` lines make the script submittable by hand (`sbatch <script>`) for debugging.
 */
export function batchScript(spec: BatchScriptSpec): string {
  const q = shellQuote;
  const f = spec.files;
  const directives = [`--job-name=${spec.name}`, ...spec.flags].map((flag) => `#SBATCH ${flag}`);
  return [
    "#!/bin/bash",
    ...directives,
    `# ${spec.comment.replaceAll("\n", " ")}`,
    "# Written by kt's slurm executor, which submits it with",
    `#   sbatch ${submitPaths(spec).map(q).join(" ")} <this file>`,
    `cd ${q(spec.cwd)} || exit ${NOT_SHARED_EXIT}`,
    `if [ ! -r ${q(f.stdin)} ]; then`,
    `  echo "kt: ${f.stdin.replaceAll('"', "")} is not readable on $(hostname):` +
    ` the run directory must be on a filesystem shared with the compute nodes" >&2`,
    `  exit ${NOT_SHARED_EXIT}`,
    "fi",
    `rm -f ${q(f.exit)}`,
    `${[spec.command, ...spec.args].map(q).join(" ")} < ${q(f.stdin)} > ${q(f.stdout)} 2> ${
      q(f.stderr)
    }`,
    "code=$?",
    `echo "$code" > ${q(f.exit + ".tmp")} && mv ${q(f.exit + ".tmp")} ${q(f.exit)}`,
    'exit "$code"',
    "",
  ].join("\n");
}

/** Parses `squeue -h -o '%i|%T|%r|%N'` output into job infos by id. */
export function parseSqueue(text: string): Map<string, SlurmJobInfo> {
  const out = new Map<string, SlurmJobInfo>();
  for (const line of text.split("\n")) {
    const parts = line.trim().split("|");
    if (parts.length < 3 || !parts[0]) continue;
    const [id, state, reason, nodes = ""] = parts;
    out.set(id, { id, state: baseState(state), reason, nodes });
  }
  return out;
}

/** Parses `sacct -n -P -X -o JobID,State,ExitCode,Reason,NodeList` output into job infos. */
export function parseSacct(text: string): Map<string, SlurmJobInfo> {
  const out = new Map<string, SlurmJobInfo>();
  for (const line of text.split("\n")) {
    const parts = line.trim().split("|");
    if (parts.length < 3 || !parts[0] || parts[0].includes(".")) continue;
    const [id, state, exit, reason = "None", nodes = ""] = parts;
    const code = Number(exit.split(":")[0]);
    out.set(id, {
      id,
      state: baseState(state),
      reason,
      nodes,
      exitCode: Number.isFinite(code) ? code : undefined,
    });
  }
  return out;
}

/** Parses one job of `scontrol show job -o <id>` output. */
export function parseScontrol(text: string): SlurmJobInfo | undefined {
  const field = (name: string) => text.match(new RegExp(`(?:^|\\s)${name}=(\\S*)`))?.[1];
  const id = field("JobId");
  const state = field("JobState");
  if (!id || !state) return undefined;
  const code = Number((field("ExitCode") ?? "").split(":")[0]);
  return {
    id,
    state: baseState(state),
    reason: field("Reason") ?? "None",
    nodes: field("NodeList") ?? "",
    exitCode: Number.isFinite(code) && field("ExitCode") ? code : undefined,
  };
}

/** `CANCELLED by 0` → `CANCELLED`; `COMPLETING` stays. */
function baseState(state: string): string {
  return state.trim().split(/\s+/)[0].replace(/\+$/, "").toUpperCase();
}

const STATE_MEANING: Record<string, string> = {
  CANCELLED: "cancelled (scancel or an administrator)",
  TIMEOUT: "time limit reached",
  NODE_FAIL: "its node failed",
  PREEMPTED: "preempted by a higher-priority job",
  OUT_OF_MEMORY: "out of memory",
  BOOT_FAIL: "its node failed to boot",
  DEADLINE: "deadline reached",
};

/** Where a job stands: still queued or running, or finished. */
export type JobPhase = "pending" | "running" | "finished";

/** Classifies a Slurm state. */
export function jobPhase(info: SlurmJobInfo): JobPhase {
  if (TERMINAL_STATES.has(info.state)) return "finished";
  if (info.state === "PENDING" || info.state === "REQUEUED" || info.state === "REQUEUE_HOLD") {
    return "pending";
  }
  return "running";
}

/**
 * Why Slurm ended a job that did not finish on its own, as `"<STATE>: <reason>"`, e.g.
 * `TIMEOUT: TimeLimit (time limit reached; Slurm job 12 on node1)`. Used when the worker did not
 * report an outcome itself.
 */
export function slurmFailure(info: SlurmJobInfo): string {
  const meaning = STATE_MEANING[info.state];
  const reason = info.reason && info.reason !== "None" ? info.reason : meaning ?? "no reason given";
  const extra = [
    meaning && meaning !== reason ? meaning : undefined,
    `Slurm job ${info.id}${info.nodes ? ` on ${info.nodes}` : ""}`,
  ].filter(Boolean).join("; ");
  return `${info.state}: ${reason} (${extra})`;
}

// ---------------------------------------------------------------- commands

/** Finds an executable on PATH; undefined when absent. */
export function findOnPath(name: string, path = Deno.env.get("PATH") ?? ""): string | undefined {
  for (const dir of path.split(":").filter(Boolean)) {
    const candidate = `${dir}/${name}`;
    try {
      const st = Deno.statSync(candidate);
      if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Throws a KtError naming the package when Slurm's client commands are not on PATH. */
export function requireSlurmCommands(names = ["sbatch", "squeue", "scancel"]): void {
  const missing = names.filter((n) => !findOnPath(n));
  if (missing.length === 0) return;
  throw new KtError(
    `the slurm executor needs ${missing.join(", ")}, which ${
      missing.length > 1 ? "are" : "is"
    } not on PATH (${Deno.env.get("PATH") ?? ""})`,
    {
      hint: "run kt on a machine that can submit Slurm jobs (a login node), load Slurm " +
        "(`module load slurm`) or install its client commands (Debian/Ubuntu: " +
        "`apt-get install slurm-client`; a local test cluster: `bash tests/slurm/setup.sh`); " +
        "or use --executor local",
    },
  );
}

/** Runs a command, returning its exit code and output. */
export async function runCommand(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Submits a batch script; returns the job id. Throws a KtError with sbatch's stderr on refusal. */
export async function submit(script: string, flags: string[] = []): Promise<string> {
  const r = await runCommand("sbatch", ["--parsable", ...flags, script]);
  const id = r.stdout.trim().split(";")[0];
  if (r.code !== 0 || !/^\d+$/.test(id)) {
    const why = r.stderr.trim().replaceAll("\n", " | ") || r.stdout.trim() || `exit ${r.code}`;
    throw new KtError(`Slurm rejected the job (sbatch ${script}): ${why}`, {
      hint: "check the executor options (partition, gpus, time, mem, sbatchArgs) against " +
        "`sinfo` and your site's limits",
    });
  }
  return id;
}

/** States of this user's jobs that the controller still knows (`squeue --me -t all`). */
export async function squeueStates(): Promise<Map<string, SlurmJobInfo>> {
  const r = await runCommand("squeue", ["--me", "-t", "all", "-h", "-o", "%i|%T|%r|%N"]);
  if (r.code !== 0) {
    throw new KtError(`squeue failed: ${r.stderr.trim() || `exit ${r.code}`}`, {
      hint: "is the Slurm controller reachable? try `sinfo`",
    });
  }
  return parseSqueue(r.stdout);
}

/** States from the accounting database; undefined when accounting is not available. */
export async function sacctStates(ids: string[]): Promise<Map<string, SlurmJobInfo> | undefined> {
  if (ids.length === 0 || !findOnPath("sacct")) return undefined;
  const r = await runCommand("sacct", [
    "-n",
    "-P",
    "-X",
    "-j",
    ids.join(","),
    "-o",
    "JobID,State,ExitCode,Reason,NodeList",
  ]);
  return r.code === 0 ? parseSacct(r.stdout) : undefined;
}

/** One job from `scontrol show job`; undefined when the controller forgot it. */
export async function scontrolState(id: string): Promise<SlurmJobInfo | undefined> {
  if (!findOnPath("scontrol")) return undefined;
  const r = await runCommand("scontrol", ["show", "job", "-o", id]);
  return r.code === 0 ? parseScontrol(r.stdout) : undefined;
}

/** Cancels jobs (`scancel`); errors about jobs that already ended are ignored. */
export async function cancelJobs(ids: string[]): Promise<void> {
  if (ids.length > 0) await runCommand("scancel", ids);
}
