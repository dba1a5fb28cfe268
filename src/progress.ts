/**
 * Progress output: a redrawn bar with samples/s and ETA on a TTY, plain lines otherwise.
 * @module
 */

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** A progress reporter for one training run. */
export interface Progress {
  /** Called after each step with the samples done so far in this epoch. */
  step(epoch: number, done: number, loss: number): void;
  /** Called at the end of each epoch. */
  epochEnd(epoch: number, loss: number, samplesPerSecond: number): void;
  /** Clears the live line. */
  close(): void;
}

/** Options of {@linkcode createProgress}. */
export interface ProgressOptions {
  label: string;
  epochs: number;
  samplesPerEpoch: number;
  /** Force TTY mode on/off (default: whether stderr is a terminal). */
  tty?: boolean;
  /** Where lines go (default: stderr). */
  write?: (text: string) => void;
}

/** A progress reporter: live bar on a TTY (at most ~10 redraws/s), one line per epoch otherwise. */
export function createProgress(opts: ProgressOptions): Progress {
  const enc = new TextEncoder();
  const write = opts.write ?? ((t: string) => Deno.stderr.writeSync(enc.encode(t)));
  const tty = opts.tty ?? Deno.stderr.isTerminal();
  const start = performance.now();
  let epochStart = start;
  let lastDraw = 0;
  const total = opts.epochs * opts.samplesPerEpoch;
  return {
    step(epoch, done, loss) {
      if (!tty) return;
      const now = performance.now();
      if (now - lastDraw < 100 && done < opts.samplesPerEpoch) return;
      lastDraw = now;
      const rate = done / Math.max((now - epochStart) / 1000, 1e-9);
      const remaining = total - (epoch * opts.samplesPerEpoch + done);
      const width = 24;
      const filled = Math.round((done / opts.samplesPerEpoch) * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      write(
        `\r\x1b[2K${opts.label} epoch ${epoch + 1}/${opts.epochs} ${bar} ` +
          `${done}/${opts.samplesPerEpoch} loss ${loss.toPrecision(4)} ` +
          `${Math.round(rate)} samples/s ETA ${formatDuration(remaining / rate)}`,
      );
    },
    epochEnd(epoch, loss, samplesPerSecond) {
      const line = `${opts.label} epoch ${epoch + 1}/${opts.epochs} loss ${loss.toPrecision(4)} ` +
        `${Math.round(samplesPerSecond)} samples/s`;
      write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
      epochStart = performance.now();
    },
    close() {
      if (tty) write("\r\x1b[2K");
    },
  };
}
