import assert from "node:assert/strict";
import { createSweepProgress } from "./sweep_progress.ts";

/** A terminal that keeps the lines a status block leaves after cursor-up + erase-below. */
function terminal() {
  let lines: string[] = [];
  return {
    write(text: string) {
      // deno-lint-ignore no-control-regex
      const up = /^\x1b\[(\d+)A\x1b\[0J$/.exec(text);
      if (up) lines = lines.slice(0, lines.length - Number(up[1]));
      else lines.push(...text.replace(/\n$/, "").split("\n"));
    },
    log(line: string) {
      lines.push(line);
    },
    get lines() {
      return lines;
    },
  };
}

Deno.test("the TTY status block gives way to a prompt and leaves nothing behind when closed", () => {
  const term = terminal();
  const p = createSweepProgress({
    trials: 2,
    jobs: 2,
    cachedJobs: 0,
    tty: true,
    log: term.log,
    write: term.write,
  });
  p.jobStarted("k1", "student (m=a)");
  assert.equal(term.lines.length, 2, "status line + one running job");
  p.pause();
  assert.deepEqual(term.lines, [], "cleared before the prompt");
  term.log("stop this sweep? [y/N] y");
  p.jobCurve("k1", { epoch: 0, loss: 1, samplesPerSecond: 10 });
  assert.deepEqual(term.lines, ["stop this sweep? [y/N] y"], "nothing drawn over the prompt");
  p.resume();
  assert.equal(term.lines[0], "stop this sweep? [y/N] y", "the prompt stays");
  assert.equal(term.lines.length, 3);
  p.jobEnded("k1", "worker killed by SIGTERM", "interrupted");
  p.trialEnded("m=a", "interrupted", "stopped");
  p.close();
  p.log("2 trials: 0 finished, 0 failed, 2 interrupted");
  assert.deepEqual(term.lines, [
    "stop this sweep? [y/N] y",
    "STOPPED student (m=a): worker killed by SIGTERM",
    "trial m=a: interrupted (stopped)",
    "2 trials: 0 finished, 0 failed, 2 interrupted",
  ]);
});
