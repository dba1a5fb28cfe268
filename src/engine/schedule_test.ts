import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import {
  type Decision,
  jobEnd,
  type JobState,
  readyJobs,
  runEnd,
  schedule,
  type ScheduledJob,
  trialState,
} from "./schedule.ts";

/** Jobs from `[key, after, state?]` rows (the key is the node's name too). */
function graph(rows: [string, string[], JobState?][]): Map<string, ScheduledJob> {
  return new Map(rows.map(([key, after, state]) => [
    key,
    { key, node: key, after, state: state ?? "pending" },
  ]));
}

/** A teacher, its features, two students reading them and each student's evaluation. */
function distillation(): Map<string, ScheduledJob> {
  return graph([
    ["teacher", []],
    ["targets", ["teacher"]],
    ["pkt", ["targets"]],
    ["hinton", ["targets"]],
    ["eval-pkt", ["pkt"]],
    ["eval-hinton", ["hinton"]],
  ]);
}

/**
 * Runs `schedule` to the end without training: a started job runs until the oldest running job
 * ends, which ends as `results` says (ok when not named). Returns the decisions in order.
 */
function simulate(
  jobs: Map<string, ScheduledJob>,
  capacity: number,
  results: Record<string, { ok: false; reason: string; ending?: "diverged" }> = {},
  options: { eager?: boolean; stopAfterStarts?: number } = {},
): Decision[] {
  const decisions: Decision[] = [];
  const running: string[] = [];
  let starts = 0;
  for (let step = 0; step < 1000; step++) {
    const stopped = options.stopAfterStarts !== undefined && starts >= options.stopAfterStarts;
    const d = schedule({ jobs, capacity, eager: options.eager, stopped });
    decisions.push(d);
    if (d.do === "finish") return decisions;
    if (d.do === "skip") {
      Object.assign(jobs.get(d.key)!, { state: "failed", reason: d.reason, ending: d.ending });
    } else if (d.do === "start") {
      jobs.get(d.key)!.state = "running";
      running.push(d.key);
      starts++;
    } else {
      const key = running.shift()!;
      Object.assign(jobs.get(key)!, jobEnd(results[key] ?? { ok: true }, stopped));
    }
  }
  throw new Error("the schedule did not finish in 1000 steps");
}

const started = (ds: Decision[]) => ds.flatMap((d) => d.do === "start" ? [d.key] : []);
const states = (jobs: Map<string, ScheduledJob>) =>
  Object.fromEntries(
    [...jobs].map(([k, j]) => [k, j.reason ? `${j.state}: ${j.reason}` : j.state]),
  );

Deno.test("schedule() starts only jobs whose inputs are done or cached, in graph order", () => {
  const jobs = distillation();
  assert.deepEqual(schedule({ jobs, capacity: 4, stopped: false }), {
    do: "start",
    key: "teacher",
    ready: 1,
  });
  jobs.get("teacher")!.state = "running";
  // Everything else waits for the teacher, however many slots are free.
  assert.deepEqual(schedule({ jobs, capacity: 4, stopped: false }), { do: "wait" });
  jobs.get("teacher")!.state = "done";
  jobs.get("targets")!.state = "cached";
  assert.deepEqual(schedule({ jobs, capacity: 4, stopped: false }), {
    do: "start",
    key: "pkt",
    ready: 2,
  });
});

Deno.test("schedule() never runs more than capacity jobs at once", () => {
  const jobs = graph([["a", []], ["b", []], ["c", []]]);
  jobs.get("a")!.state = "running";
  assert.deepEqual(schedule({ jobs, capacity: 2, stopped: false }), {
    do: "start",
    key: "b",
    ready: 2,
  });
  jobs.get("b")!.state = "running";
  assert.deepEqual(schedule({ jobs, capacity: 2, stopped: false }), { do: "wait" });
  // A whole sweep: at most `capacity` jobs run between any two ends.
  for (const capacity of [1, 2, 3]) {
    const sim = graph([["a", []], ["b", []], ["c", []], ["d", ["a"]], ["e", ["b", "c"]]]);
    let running = 0;
    for (const d of simulate(sim, capacity)) {
      running += d.do === "start" ? 1 : d.do === "wait" ? -1 : 0;
      assert.ok(running <= capacity, `capacity ${capacity}: ${running} running`);
    }
    assert.deepEqual(Object.values(states(sim)), ["done", "done", "done", "done", "done"]);
  }
});

Deno.test("schedule() hands an eager executor jobs whose inputs still run", () => {
  const jobs = graph([["teacher", [], "running"], ["student", ["teacher"]]]);
  assert.deepEqual(schedule({ jobs, capacity: 2, stopped: false }), { do: "wait" });
  assert.deepEqual(schedule({ jobs, capacity: 2, eager: true, stopped: false }), {
    do: "start",
    key: "student",
    ready: 1,
  });
  assert.deepEqual(readyJobs(jobs, true), ["student"]);
  // Not while an input only waits for another process: it may still be run here.
  jobs.get("teacher")!.state = "waiting";
  assert.deepEqual(readyJobs(jobs, true), []);
});

Deno.test("a failed job skips its dependents transitively, each naming the input that failed", () => {
  const jobs = distillation();
  const decisions = simulate(jobs, 2, { pkt: { ok: false, reason: "out of memory" } });
  assert.deepEqual(states(jobs), {
    teacher: "done",
    targets: "done",
    pkt: "failed: out of memory",
    hinton: "done",
    "eval-pkt": 'failed: input "pkt" failed',
    "eval-hinton": "done",
  });
  assert.deepEqual(started(decisions), ["teacher", "targets", "pkt", "hinton", "eval-hinton"]);
  // Down a chain: the teacher fails, everything after it is skipped, none started.
  const chain = distillation();
  simulate(chain, 2, { teacher: { ok: false, reason: "boom" } });
  assert.deepEqual(states(chain), {
    teacher: "failed: boom",
    targets: 'failed: input "teacher" failed',
    pkt: 'failed: input "targets" failed',
    hinton: 'failed: input "targets" failed',
    "eval-pkt": 'failed: input "pkt" failed',
    "eval-hinton": 'failed: input "hinton" failed',
  });
  assert.ok(chain.values().every((j) => j.ending === undefined));
});

Deno.test("a diverged input is named as diverged; an interrupted one passes its ending on", () => {
  const diverged = graph([["s", [], "failed"], ["e", ["s"]]]);
  diverged.get("s")!.ending = "diverged";
  assert.deepEqual(schedule({ jobs: diverged, capacity: 1, stopped: false }), {
    do: "skip",
    key: "e",
    reason: 'input "s" diverged',
  });
  const interrupted = graph([["s", [], "failed"], ["e", ["s"]]]);
  interrupted.get("s")!.ending = "interrupted";
  assert.deepEqual(schedule({ jobs: interrupted, capacity: 1, stopped: false }), {
    do: "skip",
    key: "e",
    reason: 'input "s" was interrupted',
    ending: "interrupted",
  });
});

Deno.test("a stopped sweep starts nothing, interrupts pending jobs and waits for running ones", () => {
  const jobs = distillation();
  const decisions = simulate(jobs, 2, {}, { stopAfterStarts: 3 });
  assert.deepEqual(started(decisions), ["teacher", "targets", "pkt"]);
  // pkt was running when the sweep stopped: it finishes; what never started is interrupted.
  assert.deepEqual(states(jobs), {
    teacher: "done",
    targets: "done",
    pkt: "done",
    hinton: "failed: the sweep was interrupted before it ran",
    "eval-pkt": "failed: the sweep was interrupted before it ran",
    "eval-hinton": 'failed: input "hinton" was interrupted',
  });
  assert.ok(
    ["hinton", "eval-pkt", "eval-hinton"].every((k) => jobs.get(k)!.ending === "interrupted"),
  );
  assert.deepEqual(decisions.at(-1), { do: "finish" });
});

Deno.test("schedule() waits while a job waits for another process, then finishes", () => {
  const jobs = graph([["a", [], "waiting"], ["b", [], "cached"]]);
  assert.deepEqual(schedule({ jobs, capacity: 1, stopped: false }), { do: "wait" });
  jobs.get("a")!.state = "cached";
  assert.deepEqual(schedule({ jobs, capacity: 1, stopped: false }), { do: "finish" });
  assert.deepEqual(schedule({ jobs: new Map(), capacity: 1, stopped: false }), { do: "finish" });
});

Deno.test("schedule() with room for no job is an error naming --jobs, not a silent empty run", () => {
  for (const capacity of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => schedule({ jobs: graph([["a", []]]), capacity, stopped: false }),
      (e) => e instanceof KtError && /at least 1/.test(e.message) && /--jobs/.test(e.hint ?? ""),
    );
  }
});

Deno.test("jobEnd() sets done or failed; a failure while stopping counts as interrupted", () => {
  assert.deepEqual(jobEnd({ ok: true }, false), { state: "done" });
  assert.deepEqual(jobEnd({ ok: true }, true), { state: "done" });
  assert.deepEqual(jobEnd({ ok: false, reason: "boom" }, false), {
    state: "failed",
    reason: "boom",
  });
  assert.deepEqual(jobEnd({ ok: false, reason: "killed" }, true), {
    state: "failed",
    reason: "killed",
    ending: "interrupted",
  });
  assert.deepEqual(jobEnd({ ok: false, reason: "NaN", ending: "diverged" }, true), {
    state: "failed",
    reason: "NaN",
    ending: "diverged",
  });
});

Deno.test("trialState(): a failure wins over an interruption; all cached is cached", () => {
  assert.deepEqual(trialState([{ state: "cached" }, { state: "cached" }]), { state: "cached" });
  assert.deepEqual(trialState([{ state: "cached" }, { state: "done" }]), { state: "done" });
  assert.deepEqual(trialState([{ state: "done" }, { state: "waiting" }]), { state: "running" });
  assert.deepEqual(trialState([{ state: "done" }, { state: "pending" }]), { state: "pending" });
  assert.deepEqual(
    trialState([{ state: "failed", ending: "interrupted" }, { state: "failed" }]),
    { state: "failed", job: 1 },
  );
  assert.deepEqual(trialState([{ state: "done" }, { state: "failed", ending: "diverged" }]), {
    state: "diverged",
    job: 1,
  });
  assert.deepEqual(trialState([{ state: "running" }, { state: "failed", ending: "interrupted" }]), {
    state: "interrupted",
    job: 1,
  });
});

Deno.test("runEnd(): unfinished trials are interrupted; interrupted beats failed beats finished", () => {
  assert.deepEqual(runEnd(["done", "cached"], false), {
    status: "finished",
    trials: ["done", "cached"],
  });
  assert.equal(runEnd(["done", "diverged"], false).status, "failed");
  assert.deepEqual(runEnd(["failed", "queued", "running"], false), {
    status: "interrupted",
    trials: ["failed", "interrupted", "interrupted"],
  });
  assert.equal(runEnd(["done"], true).status, "interrupted");
  assert.equal(runEnd([], false).status, "finished");
});
