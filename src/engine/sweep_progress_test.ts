import assert from "node:assert/strict";
import { createSweepProgress, jobLabel } from "./sweep_progress.ts";

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

/** A non-TTY progress with a fake clock; `lines` is what it logged. */
function piped(verbose: boolean) {
  const lines: string[] = [];
  let t = 0;
  const p = createSweepProgress({
    trials: 2,
    jobs: 3,
    cachedJobs: 0,
    pending: [
      { key: "t", kind: "trained-network" },
      { key: "s1", kind: "transfer" },
      { key: "s2", kind: "transfer" },
    ],
    parallel: 2,
    tty: false,
    verbose,
    log: (l) => lines.push(l),
    now: () => t,
  });
  return { p, lines, at: (seconds: number) => t = seconds };
}

/** Two trials sharing a teacher: the first student finishes, the second fails. */
function run(v: ReturnType<typeof piped>) {
  v.p.jobStarted("t", "teacher (shared by 2 trials)");
  v.p.jobCurve("t", { epoch: 0, loss: 1, samplesPerSecond: 100 });
  v.at(10);
  v.p.jobEnded("t");
  v.p.jobStarted("s1", "student (m=a)");
  v.p.jobStarted("s2", "student (m=b)");
  v.at(14);
  v.p.jobEnded("s1");
  v.p.trialEnded("m=a", "done");
  v.at(15);
  v.p.jobEnded("s2", "out of memory");
  v.p.trialEnded("m=b", "failed", "out of memory");
  v.p.close();
}

Deno.test("quiet by default: one line per finished trial and per failure, with the status", () => {
  const v = piped(false);
  run(v);
  assert.deepEqual(v.lines, [
    "trial m=a: done · 1/2 trials done · 1 job running · 2/3 jobs · 14s elapsed · ETA 0s",
    "FAILED student (m=b): out of memory",
    "trial m=b: failed (out of memory)",
  ]);
});

Deno.test("--verbose adds a line for every job that starts, reports an epoch or ends", () => {
  const v = piped(true);
  run(v);
  assert.deepEqual(v.lines, [
    "start teacher (shared by 2 trials)",
    "  teacher (shared by 2 trials): epoch 1 loss 1.000 100 samples/s",
    "done teacher (shared by 2 trials) (10.0 s)",
    "start student (m=a)",
    "start student (m=b)",
    "done student (m=a) (4.0 s)",
    "trial m=a: done · 1/2 trials done · 1 job running · 2/3 jobs · 14s elapsed · ETA 0s",
    "FAILED student (m=b): out of memory",
    "trial m=b: failed (out of memory)",
  ]);
});

Deno.test("the status line: singular and plural, failures only when some, ETA from measured jobs", () => {
  const term = terminal();
  let t = 0;
  const p = createSweepProgress({
    trials: 3,
    jobs: 4,
    cachedJobs: 0,
    pending: ["a", "b", "c", "d"].map((key) => ({ key, kind: "transfer" })),
    parallel: 2,
    tty: true,
    log: term.log,
    write: term.write,
    now: () => t,
  });
  p.jobStarted("a", "student (m=a)");
  assert.equal(
    term.lines[0],
    "0/3 trials done · 1 job running · 0/4 jobs · 0s elapsed · ETA measuring",
  );
  p.jobStarted("b", "student (m=b)");
  t = 20;
  p.jobEnded("a");
  p.trialEnded("m=a", "failed", "boom");
  // b: 20 s expected, 20 elapsed; c, d: 20 s each on 2 slots → 20 s left.
  assert.equal(
    term.lines.at(-2),
    "0/3 trials done, 1 failed · 1 job running · 1/4 jobs · 20s elapsed · ETA 20s",
  );
  p.jobSkipped("c");
  p.close();
});

Deno.test("jobLabel() names a shared job by what its trials share, not by the first of them", () => {
  assert.equal(
    jobLabel("student", [{ label: "method=pkt seed=0", params: { method: "pkt", seed: 0 } }]),
    "student (method=pkt seed=0)",
  );
  const users = ["pkt", "none"].flatMap((method) =>
    [0, 1].map((seed) => ({ label: `method=${method} seed=${seed}`, params: { method, seed } }))
  );
  assert.equal(jobLabel("teacher", users), "teacher (shared by 4 trials)");
  assert.equal(
    jobLabel("baseline", users.filter((u) => u.params.seed === 1)),
    "baseline (seed=1, shared by 2 trials)",
  );
});
