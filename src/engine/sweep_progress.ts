/**
 * The sweep's live view: on a TTY a redrawn status block (trials done/running/failed, each
 * running job's epoch and samples/s, ETA); otherwise plain log lines, one per event.
 * @module
 */
import { formatDuration } from "../progress.ts";

/** Options of {@linkcode createSweepProgress}. */
export interface SweepProgressOptions {
  trials: number;
  jobs: number;
  cachedJobs: number;
  tty?: boolean;
  log: (line: string) => void;
  /** Where the TTY status block is drawn (default: stderr). */
  write?: (text: string) => void;
}

/** Receives scheduler events. */
export interface SweepProgress {
  jobStarted(key: string, label: string): void;
  jobCurve(key: string, point: { epoch: number; loss: number; samplesPerSecond: number }): void;
  /** A job ended: fine, or with `error` (`ending` says it was stopped or diverged). */
  jobEnded(key: string, error?: string, ending?: "diverged" | "interrupted"): void;
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
  const enc = new TextEncoder();
  const write = o.write ?? ((text: string) => Deno.stderr.writeSync(enc.encode(text)));
  const running = new Map<
    string,
    { label: string; started: number; epoch?: number; sps?: number; loss?: number }
  >();
  const durations: number[] = [];
  let jobsDone = o.cachedJobs;
  const trials = { done: 0, failed: 0 };
  let drawn = 0;
  let paused = false;
  const t0 = performance.now();

  const clear = () => {
    if (!tty || drawn === 0) return;
    write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!tty || paused) return;
    clear();
    const left = o.jobs - jobsDone;
    const avg = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : NaN;
    const eta = formatDuration((avg * left) / Math.max(1, running.size));
    const lines = [
      `trials ${trials.done} done, ${running.size} jobs running, ${trials.failed} failed / ${o.trials}` +
      ` · jobs ${jobsDone}/${o.jobs} · ${
        formatDuration((performance.now() - t0) / 1000)
      } elapsed · ETA ${eta}`,
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
      running.set(key, { label, started: performance.now() });
      if (tty) draw();
      else o.log(`start ${label}`);
    },
    jobCurve(key, p) {
      const r = running.get(key);
      if (!r) return;
      r.epoch = p.epoch;
      r.sps = p.samplesPerSecond;
      r.loss = p.loss;
      if (tty) draw();
      else {o.log(
          `  ${r.label}: epoch ${p.epoch + 1} loss ${p.loss.toPrecision(4)} ${
            Math.round(p.samplesPerSecond)
          } samples/s`,
        );}
    },
    jobEnded(key, error, ending) {
      const r = running.get(key);
      running.delete(key);
      jobsDone++;
      const seconds = r ? (performance.now() - r.started) / 1000 : 0;
      durations.push(seconds);
      const what = ending === "interrupted"
        ? "STOPPED"
        : ending === "diverged"
        ? "DIVERGED"
        : "FAILED";
      say(error ? `${what} ${r?.label}: ${error}` : `done ${r?.label} (${seconds.toFixed(1)} s)`);
    },
    trialEnded(label, status, reason) {
      if (status === "failed" || status === "diverged") trials.failed++;
      else if (status !== "interrupted") trials.done++;
      if (!tty || status !== "done" && status !== "cached") {
        say(`trial ${label}: ${status}${reason ? ` (${reason})` : ""}`);
      } else draw();
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
