/**
 * `slurm` executor: each job becomes one `sbatch` submission whose batch script runs the same
 * worker command as the `local` executor (`main.ts worker`), with the job spec as stdin and the
 * `@kt` protocol lines going to a log file in the run directory. The executor polls `squeue`
 * (falling back to `sacct`, then to the exit marker the script writes), tails the log for
 * training curves while a job runs and reads the outcome from it when the job ends. A job that
 * Slurm ends (time limit, node failure, scancel, ...) fails with `"<STATE>: <reason>"`.
 *
 * Jobs are submitted when the scheduler hands them over, i.e. once their inputs are done; an
 * input that is still queued or running (submitted by this executor) becomes an
 * `--dependency=afterok:<id>` so the cluster orders them.
 *
 * Files, per job, in `<runDir>/slurm/`: `<node>-<key>.sh` (the batch script; `sbatch` it by hand
 * to debug), `.json` (stdin), `.out` (protocol lines), `.err`, `.slurm.log` (Slurm's output of
 * the script) and `.exit` (exit code); `jobs.tsv` lists every submission (Slurm id, key, node,
 * trial). The cache and run directories must be on a filesystem the compute nodes share.
 * @module
 */
import { join } from "node:path";
import {
  defineExecutor,
  type JobEvents,
  type JobResult,
  type JobSpec,
  KtError,
  readWorkerStream,
  z,
} from "../../mod.ts";
import {
  batchScript,
  cancelJobs,
  type JobFiles,
  jobPhase,
  NOT_SHARED_EXIT,
  requireSlurmCommands,
  sacctStates,
  sbatchFlags,
  scontrolState,
  slurmFailure,
  type SlurmJobInfo,
  squeueStates,
  submit,
  submitPaths,
} from "./_slurm.ts";

/** Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const SLURM_TIME = /^(\d+-\d+(:\d+(:\d+)?)?|\d+(:\d+(:\d+)?)?|UNLIMITED|INFINITE)$/i;

const options = z.object({
  partition: z.string().min(1).optional().describe("partition (default: the cluster's default)"),
  account: z.string().min(1).optional().describe("account to charge (--account)"),
  gpus: z.number().int().min(0).optional().describe("GPUs per job (--gres=gpu:N)"),
  time: z.string().regex(SLURM_TIME, "a Slurm time limit such as 30, 1:00:00 or 1-12:00")
    .optional().describe("time limit per job (--time), e.g. 1:00:00"),
  cpus: z.number().int().min(1).optional().describe("CPUs per job (--cpus-per-task)"),
  mem: z.string().regex(/^\d+[KMGT]?$/i, "memory such as 8G or 4000M").optional()
    .describe("memory per job (--mem), e.g. 8G"),
  sbatchArgs: z.array(z.string()).default([]).describe("extra sbatch flags, e.g. [--qos=short]"),
  jobs: z.number().int().min(1).default(64).describe("jobs queued or running at once"),
  pollSeconds: z.number().positive().default(2).describe("how often squeue is asked"),
  checkShared: z.boolean().default(true)
    .describe("check that the cache and run directories are writable before submitting"),
}).strict();

/** Options of the slurm executor. */
export type SlurmOptions = z.infer<typeof options>;

interface Tracked {
  id: string;
  spec: JobSpec;
  files: JobFiles;
  /** Bytes of the worker's stdout already forwarded. */
  offset: number;
  feed: ReadableStreamDefaultController<Uint8Array>;
  outcome: Promise<JobResult | undefined>;
  resolve(result: JobResult): void;
  /** Polls in a row that found the job nowhere. */
  unseen: number;
}

/** A job handed to the executor: its Slurm id once submitted, its result once ended. */
interface Submitted {
  /** Resolves with the Slurm id (undefined: submission failed). */
  id: Promise<string | undefined>;
  result?: JobResult;
}

/** The files of a job in `<runDir>/slurm/`. */
function jobFiles(job: JobSpec): JobFiles {
  const base = join(
    job.runDir,
    "slurm",
    `${job.node.replace(/[^A-Za-z0-9_.-]/g, "_")}-${job.key.slice(0, 12)}`,
  );
  return {
    script: `${base}.sh`,
    stdin: `${base}.json`,
    stdout: `${base}.out`,
    stderr: `${base}.err`,
    slurmLog: `${base}.slurm.log`,
    exit: `${base}.exit`,
  };
}

async function readOr(path: string, fallback = ""): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return fallback;
  }
}

/** The last few non-empty lines of a file, joined with " | ". */
async function tailLines(path: string, n = 3): Promise<string> {
  const text = await readOr(path);
  return text.trim().split("\n").filter((l) => l.trim()).slice(-n).join(" | ");
}

/** Checks that `dir` exists (creating it) and is writable from here. */
async function checkWritable(dir: string, what: string): Promise<void> {
  const probe = join(dir, `.kt-write-test-${Deno.pid}-${crypto.randomUUID()}`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "ok");
    await Deno.remove(probe);
  } catch (err) {
    throw new KtError(`the ${what} ${dir} is not writable: ${(err as Error).message}`, {
      hint: "Slurm jobs read and write the cache and run directories: pass --cache-dir and " +
        "--run-dir on a filesystem that this machine and the compute nodes share and can write",
    });
  }
}

export default defineExecutor({
  name: "slurm",
  description: "submit each job to a Slurm cluster with sbatch (shared cache/run directories)",
  version: "1",
  options,
  create(opts: SlurmOptions, env) {
    requireSlurmCommands();
    const inFlight = new Map<string, Tracked>();
    /** Every job handed to this executor, by cache key. */
    const submitted = new Map<string, Submitted>();
    /** Directory checks, one per (cache, run) pair. */
    const checked = new Map<string, Promise<void>>();
    const pollMs = opts.pollSeconds * 1000;
    const flags = sbatchFlags(opts);
    let cancelled = false;
    let polling: Promise<void> | undefined;
    let pollFailures = 0;

    /** Forwards what the worker wrote since the last look. */
    const tail = async (t: Tracked) => {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(t.files.stdout);
      } catch {
        return; // not started yet
      }
      try {
        await file.seek(t.offset, Deno.SeekMode.Start);
        const buf = new Uint8Array(1 << 16);
        while (true) {
          const n = await file.read(buf);
          if (n === null || n === 0) break;
          t.offset += n;
          try {
            t.feed.enqueue(buf.slice(0, n));
          } catch { /* the reader gave up (bad protocol line) */ }
        }
      } finally {
        file.close();
      }
    };

    /** The job's exit code from its marker file, if it wrote one. */
    const markerCode = async (t: Tracked): Promise<number | undefined> => {
      const text = (await readOr(t.files.exit)).trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    };

    const settle = (t: Tracked, result: JobResult) => {
      inFlight.delete(t.id);
      t.resolve(result);
    };

    /** A job Slurm reports as ended: decide its result from the log, marker and Slurm's state. */
    const finish = async (t: Tracked, info: SlurmJobInfo) => {
      await tail(t);
      try {
        t.feed.close();
      } catch { /* already closed */ }
      const outcome = await t.outcome;
      // The worker said it committed its artifact: done, whatever happened after.
      if (outcome?.ok) return settle(t, outcome);
      if (info.state === "COMPLETED" || info.state === "FAILED") {
        if (outcome) return settle(t, outcome);
        const code = info.exitCode ?? await markerCode(t) ?? (await scontrolState(t.id))?.exitCode;
        if (code === NOT_SHARED_EXIT) {
          const why = await tailLines(t.files.slurmLog, 1);
          return settle(t, {
            ok: false,
            reason: `Slurm job ${t.id} on ${info.nodes || "its node"} could not read its files` +
              (why ? `: ${why}` : " (is the run directory on a filesystem the nodes share?)"),
          });
        }
        const stderr = await tailLines(t.files.stderr) || await tailLines(t.files.slurmLog);
        return settle(t, {
          ok: false,
          reason: `worker exited with code ${code ?? "?"} (Slurm job ${t.id})${
            stderr ? `: ${stderr}` : ""
          }`,
        });
      }
      const said = outcome ? `; worker: ${outcome.reason}` : "";
      settle(t, { ok: false, reason: slurmFailure(info) + said });
    };

    const pollOnce = async () => {
      const states = await squeueStates();
      const unknown = [...inFlight.values()].filter((t) => !states.has(t.id)).map((t) => t.id);
      const acct = unknown.length > 0 ? await sacctStates(unknown) : undefined;
      for (const t of [...inFlight.values()]) {
        let info = states.get(t.id) ?? acct?.get(t.id);
        if (!info) {
          // Forgotten by the controller (MinJobAge) and no accounting: trust the exit marker.
          const code = await markerCode(t);
          if (code !== undefined) {
            info = {
              id: t.id,
              state: code === 0 ? "COMPLETED" : "FAILED",
              reason: "None",
              nodes: "",
              exitCode: code,
            };
          } else if (++t.unseen >= 3) {
            settle(t, {
              ok: false,
              reason: `Slurm job ${t.id} is no longer known to Slurm and left no exit marker ` +
                `(${t.files.exit}); see ${t.files.slurmLog}`,
            });
            continue;
          } else continue;
        }
        if (info.state === "PENDING" && info.reason === "DependencyNeverSatisfied") {
          await cancelJobs([t.id]);
          info = { ...info, state: "CANCELLED" };
        }
        const phase = jobPhase(info);
        if (phase === "running") await tail(t);
        else if (phase === "finished") await finish(t, info);
      }
    };

    const pollLoop = async () => {
      while (inFlight.size > 0) {
        await new Promise((r) => setTimeout(r, pollMs));
        try {
          await pollOnce();
          pollFailures = 0;
        } catch (err) {
          const msg = err instanceof KtError ? err.format() : String(err);
          env.log(`slurm: ${msg}`);
          if (++pollFailures >= 10) {
            for (const t of [...inFlight.values()]) {
              settle(t, { ok: false, reason: `lost track of Slurm job ${t.id}: ${msg}` });
            }
          }
        }
      }
      polling = undefined;
    };

    /** Writes a job's files and submits it; resolves with its Slurm id. */
    const submitJob = async (job: JobSpec, files: JobFiles, events: JobEvents) => {
      const dirs = `${job.cacheDir}\0${job.runDir}`;
      if (!checked.has(dirs)) {
        checked.set(
          dirs,
          (async () => {
            await checkWritable(join(job.runDir, "slurm"), "run directory");
            if (opts.checkShared) await checkWritable(job.cacheDir, "cache directory");
          })(),
        );
      }
      await checked.get(dirs);
      // On the cluster the job's kernel threads are the CPUs Slurm gives it (1 by default).
      const cmd = env.workerCommand({ ...job, threads: opts.cpus ?? 1 });
      for (const stale of [files.stdout, files.stderr, files.exit, files.slurmLog]) {
        await Deno.remove(stale).catch(() => {});
      }
      await Deno.writeTextFile(files.stdin, cmd.stdin);
      const script = {
        name: `kt-${job.node}`.replace(/[^A-Za-z0-9_.-]/g, "_"),
        comment: `kt job ${job.key}: node ${job.node}, trial ${job.label}`,
        flags,
        cwd: Deno.cwd(),
        command: cmd.command,
        args: cmd.args,
        files,
      };
      await Deno.writeTextFile(files.script, batchScript(script));
      // Inputs this executor submitted that have not ended: the cluster orders them (afterok).
      const deps: string[] = [];
      for (const key of job.after) {
        const input = submitted.get(key);
        if (!input) continue;
        const id = await input.id;
        if (input.result?.ok) continue;
        if (input.result || id === undefined) {
          throw new KtError(`input job ${key.slice(0, 12)} failed or was never submitted`);
        }
        deps.push(id);
      }
      const depFlags = deps.length > 0
        ? [`--dependency=afterok:${deps.join(":")}`, "--kill-on-invalid-dep=yes"]
        : [];
      const id = await submit(files.script, [...submitPaths(script), ...depFlags]);
      await Deno.writeTextFile(
        join(job.runDir, "slurm", "jobs.tsv"),
        [id, job.key, job.node, job.label, files.script].join("\t") + "\n",
        { append: true },
      );
      events.log(`${job.node} (${job.label}): Slurm job ${id}`);
      return id;
    };

    return {
      concurrency: opts.jobs,
      eager: true,
      async run(job: JobSpec, events: JobEvents): Promise<JobResult> {
        if (cancelled) return { ok: false, reason: "cancelled before submission" };
        const files = jobFiles(job);
        const pending = submitJob(job, files, events);
        const entry: Submitted = { id: pending.catch(() => undefined) };
        submitted.set(job.key, entry);
        let id: string;
        try {
          id = await pending;
        } catch (err) {
          entry.result = { ok: false, reason: "not submitted" };
          throw err;
        }

        let feed!: ReadableStreamDefaultController<Uint8Array>;
        const stream = new ReadableStream<Uint8Array>({ start: (c) => void (feed = c) });
        const outcome = readWorkerStream(stream, events).catch((err): JobResult => ({
          ok: false,
          reason: `unreadable worker output in ${files.stdout}: ${(err as Error).message}`,
        }));
        const result = new Promise<JobResult>((resolve) => {
          inFlight.set(id, { id, spec: job, files, offset: 0, feed, outcome, resolve, unseen: 0 });
        });
        polling ??= pollLoop();
        const r = await result;
        entry.result = r;
        return r;
      },
      async cancel() {
        cancelled = true;
        await cancelJobs([...inFlight.keys()]);
      },
    };
  },
});
