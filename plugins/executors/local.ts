/**
 * `local` executor (default): each job runs in its own `deno` worker process, up to `jobs` at a
 * time, so a crash or out-of-memory in one trial does not take the sweep down. Small models gain
 * more from one process per core than from threads.
 * @module
 */
import {
  defineExecutor,
  type JobEvents,
  type JobResult,
  type JobSpec,
  readWorkerStream,
  z,
} from "../../mod.ts";

/**
 * The gist of a crashed worker's stderr: its `error:` line (Deno's uncaught-error report, without
 * colour codes) and the first stack frame, else the last lines.
 */
export function crashSummary(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const lines = stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim()).filter(
    Boolean,
  );
  const error = lines.findIndex((l) => l.startsWith("error:"));
  if (error < 0) return lines.slice(-3).join(" | ");
  const frame = lines.slice(error + 1).find((l) => l.startsWith("at "));
  return [lines[error], frame].filter(Boolean).join(" | ");
}

export default defineExecutor({
  name: "local",
  description: "run jobs in worker processes on this machine (default)",
  version: "1",
  options: z.object({
    jobs: z.number().int().min(1).optional().describe("parallel worker processes (default --jobs)"),
  }).strict(),
  create(opts, env) {
    const running = new Set<Deno.ChildProcess>();
    return {
      concurrency: opts.jobs ?? env.jobs,
      async run(job: JobSpec, events: JobEvents): Promise<JobResult> {
        const cmd = env.workerCommand(job);
        const child = new Deno.Command(cmd.command, {
          args: cmd.args,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        running.add(child);
        try {
          const writer = child.stdin.getWriter();
          await writer.write(new TextEncoder().encode(cmd.stdin));
          await writer.close();
          const [outcome, stderr, status] = await Promise.all([
            readWorkerStream(child.stdout, events),
            new Response(child.stderr).text(),
            child.status,
          ]);
          if (outcome) return outcome;
          const tail = crashSummary(stderr);
          const how = status.signal
            ? `killed by ${status.signal}`
            : `exited with code ${status.code}`;
          // Stopped on purpose (Ctrl-C, a cancel), not a crash: its trials were interrupted.
          const stopped = status.signal === "SIGINT" || status.signal === "SIGTERM";
          return {
            ok: false,
            reason: `worker ${how}${tail ? `: ${tail}` : ""}`,
            ...(stopped ? { ending: "interrupted" as const } : {}),
          };
        } finally {
          running.delete(child);
        }
      },
      cancel() {
        for (const child of running) {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
        }
        return Promise.resolve();
      },
    };
  },
});
