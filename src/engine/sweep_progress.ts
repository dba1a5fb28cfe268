/**
 * The sweep's live view. Quiet by default: on a TTY a redrawn status block (trials done, jobs
 * running, failures, each running job's epoch and samples/s, elapsed time and an ETA), and a line
 * for each failure; otherwise one line per finished trial and one per failure. `verbose` adds a
 * line for every job that starts, reports an epoch or ends (what a log file of every event needs).
 * The ETA comes from the measured time of each kind of job, smoothed (`../eta.ts`).
 * @module
 */
import type { CurvePoint } from "../api.ts";
import { formatDuration } from "../progress.ts";
import { createEta } from "../eta.ts";

/** Options of {@linkcode createSweepProgress}. */
export interface SweepProgressOptions {
  trials: number;
  jobs: number;
  cachedJobs: number;
  /** The jobs to run (not cached), with their kind (plugin) for the ETA. */
  pending?: readonly { key: string; kind: string }[];
  /** Jobs that run at once (for the ETA). Default 1. */
  parallel?: number;
  tty?: boolean;
  /** A line for every job event, as well. */
  verbose?: boolean;
  log: (line: string) => void;
  /** Where the TTY status block is drawn (default: stderr). */
  write?: (text: string) => void;
  /** Seconds on a monotonic clock (default: `performance.now() / 1000`). */
  now?: () => number;
}

/**
 * How a job is named in progress lines: its node and the parameters every trial using it shares
 * (`baseline (seed=0)`), and how many trials share it when more than one does.
 *
 * @example
 * ```ts
 * import { jobLabel } from "./sweep_progress.ts";
 * jobLabel("student", [{ label: "method=pkt seed=0", params: { method: "pkt", seed: 0 } }]);
 * // "student (method=pkt seed=0)"
 * jobLabel("baseline", [
 *   { label: "method=pkt seed=0", params: { method: "pkt", seed: 0 } },
 *   { label: "method=none seed=0", params: { method: "none", seed: 0 } },
 * ]); // "baseline (seed=0, shared by 2 trials)"
 * ```
 */
export function jobLabel(
  node: string,
  users: readonly { label: string; params: Record<string, unknown> }[],
): string {
  if (users.length === 1) return `${node} (${users[0].label})`;
  const [first, ...rest] = users;
  const shared = Object.entries(first.params).filter(([k, v]) =>
    rest.every((u) => k in u.params && JSON.stringify(u.params[k]) === JSON.stringify(v))
  );
  const common = shared.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return `${node} (${[...common, `shared by ${users.length} trials`].join(", ")})`;
}

/** Receives scheduler events. */
export interface SweepProgress {
  jobStarted(key: string, label: string): void;
  jobCurve(key: string, point: CurvePoint): void;
  /** A job ended: fine, or with `error` (`ending` says it was stopped or diverged). */
  jobEnded(key: string, error?: string, ending?: "diverged" | "interrupted"): void;
  /** A planned job that will not run here (an input failed, the sweep stopped, found cached). */
  jobSkipped(key: string): void;
  trialEnded(
    label: string,
    status: "done" | "cached" | "failed" | "diverged" | "interrupted",
    reason?: string,
  ): void;
  log(line: string): void;
  /** Clears the status block and draws nothing until {@linkcode resume} (a prompt is shown). */
  pause(): void;
  resume(): void;
  /** Clears the status block for good: the terminal is left as the sweep found it. */
  close(): void;
}

/** A progress view for one sweep. */
export function createSweepProgress(o: SweepProgressOptions): SweepProgress {
  const tty = o.tty ?? Deno.stderr.isTerminal();
  const verbose = o.verbose ?? false;
  const enc = new TextEncoder();
  const write = o.write ?? ((text: string) => Deno.stderr.writeSync(enc.encode(text)));
  const now = o.now ?? (() => performance.now() / 1000);
  const running = new Map<
    string,
    { label: string; started: number; epoch?: number; sps?: number; loss?: number }
  >();
  const eta = createEta({ parallel: o.parallel ?? 1 });
  for (const job of o.pending ?? []) eta.plan(job.key, job.kind);
  let jobsDone = o.cachedJobs;
  const trials = { ended: 0, failed: 0 };
  let drawn = 0;
  let paused = false;
  const t0 = now();

  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  /** `3/8 trials done, 1 failed · 1 job running · 12/29 jobs · 43s elapsed · ETA 31s` */
  const status = () => {
    const t = now();
    const left = eta.seconds(t);
    const done = trials.ended - trials.failed;
    return `${done}/${o.trials} trials done` +
      (trials.failed > 0 ? `, ${trials.failed} failed` : "") +
      ` · ${plural(running.size, "job")} running · ${jobsDone}/${o.jobs} jobs · ` +
      `${formatDuration(t - t0)} elapsed` +
      (jobsDone >= o.jobs
        ? ""
        : ` · ETA ${left === undefined ? "measuring" : formatDuration(left)}`);
  };
  const clear = () => {
    if (!tty || drawn === 0) return;
    write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!tty || paused) return;
    clear();
    const lines = [
      status(),
      ...[...running.values()].map((r) =>
        `  ▸ ${r.label}` +
        (r.epoch !== undefined
          ? ` · epoch ${r.epoch + 1} · loss ${r.loss?.toPrecision(4)} · ${
            Math.round(r.sps ?? 0)
          } samples/s`
          : " · starting")
      ),
    ];
    write(lines.join("\n") + "\n");
    drawn = lines.length;
  };
  const say = (line: string) => {
    clear();
    o.log(line);
    draw();
  };
  return {
    jobStarted(key, label) {
      running.set(key, { label, started: now() });
      eta.started(key, now());
      if (verbose) say(`start ${label}`);
      else draw();
    },
    jobCurve(key, p) {
      const r = running.get(key);
      if (!r) return;
      r.epoch = p.epoch;
      r.sps = p.samplesPerSecond;
      r.loss = p.loss;
      if (verbose && !tty) {
        o.log(
          `  ${r.label}: epoch ${p.epoch + 1} loss ${p.loss.toPrecision(4)} ${
            Math.round(p.samplesPerSecond)
          } samples/s`,
        );
      } else draw();
    },
    jobEnded(key, error, ending) {
      const r = running.get(key);
      running.delete(key);
      jobsDone++;
      eta.ended(key, now());
      const seconds = r ? now() - r.started : 0;
      const what = ending === "interrupted"
        ? "STOPPED"
        : ending === "diverged"
        ? "DIVERGED"
        : "FAILED";
      if (error) say(`${what} ${r?.label}: ${error}`);
      else if (verbose) say(`done ${r?.label} (${seconds.toFixed(1)} s)`);
      else draw();
    },
    jobSkipped(key) {
      eta.dropped(key);
      jobsDone++;
      draw();
    },
    trialEnded(label, state, reason) {
      if (state !== "interrupted") trials.ended++;
      if (state === "failed" || state === "diverged") trials.failed++;
      const line = `trial ${label}: ${state}${reason ? ` (${reason})` : ""}`;
      if (!tty) {
        // Quiet: a cached trial did nothing worth a line.
        if (state === "done" || (state === "cached" && verbose)) o.log(`${line} · ${status()}`);
        else if (state !== "cached") o.log(line);
      } else if (state !== "done" && state !== "cached") say(line);
      else draw();
    },
    log: say,
    pause() {
      clear();
      paused = true;
    },
    resume() {
      paused = false;
      draw();
    },
    close() {
      clear();
      paused = true;
    },
  };
}
