/**
 * Runs say how they ended, tested by doing the bad thing to real `sweep` processes on tiny
 * experiments: Ctrl-C (SIGINT to the process group, as a terminal sends it) marks the running
 * trials interrupted and stops the workers; a sweep killed with SIGKILL is recognised as stale by
 * `kt results`; a training whose loss explodes is marked diverged; two sweeps on one cache
 * compute every job once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openResults } from "../src/results.ts";
import { kt, SLOW_STEP, spawnSweep, sweepArgs, writeTinyData } from "./fixtures/tiny.ts";

/** `first` (instant), then one `long` job per value of v that takes `ms`. */
function slowYaml(values: number[], ms: number, firstMs = 0): string {
  return `name: run-end
backend: cpu
plugins: [${SLOW_STEP}]
nodes:
  first: { use: slow, ms: ${firstMs}, value: 1 }
  long:
    use: slow
    input: first
    ms: ${ms}
    value: \${v}
sweep:
  grid: { v: [${values.join(", ")}] }
`;
}

/** One `long` job per value of v, each taking `ms`. */
function longYaml(values: number[], ms: number): string {
  return `name: run-end
backend: cpu
plugins: [${SLOW_STEP}]
nodes:
  long:
    use: slow
    ms: ${ms}
    value: \${v}
sweep:
  grid: { v: [${values.join(", ")}] }
`;
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-run-end-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Processes left in process group `pgid`. */
async function groupMembers(pgid: number): Promise<string[]> {
  const out = await new Deno.Command("ps", { args: ["-o", "pid=,args=", "-g", String(pgid)] })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter(Boolean);
}

/** Waits until `n` jobs hold their key locks (they are running), whatever the sweep prints. */
async function jobsRunning(dir: string, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const locks = await Array.fromAsync(Deno.readDir(join(dir, "cache", "locks")));
      if (locks.filter((e) => e.name.endsWith(".lock")).length >= n) return;
    } catch { /* not created yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${n} jobs never ran at once`);
}

function runOf(dir: string) {
  const db = openResults(join(dir, "run"));
  try {
    const run = db.latestRun()!;
    return { run, trials: db.trials(run.id) };
  } finally {
    db.close();
  }
}

Deno.test("Ctrl-C marks the running trials interrupted, stops the workers and exits 130", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, longYaml([1, 2], 60_000));
    const sweep = spawnSweep(sweepArgs(file, dir, "--jobs", "2"), dir);
    await jobsRunning(dir, 2);
    const t0 = performance.now();
    Deno.kill(-sweep.child.pid, "SIGINT");
    const r = await sweep.done();
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(seconds < 20, `stopped in ${seconds.toFixed(1)} s, not after the jobs' 60 s`);
    assert.match(r.stderr, /2 trials: 0 finished, 0 failed, 2 interrupted/);
    assert.match(r.stderr, /interrupted: 2 trial\(s\) did not finish; rerun the sweep/);
    assert.doesNotMatch(r.stderr, /FAILED/);
    assert.deepEqual(await groupMembers(sweep.child.pid), [], "no worker left running");

    const { run, trials } = runOf(dir);
    assert.equal(run.status, "interrupted");
    assert.deepEqual(trials.map((t) => t.status), ["interrupted", "interrupted"]);
    const results = await kt(["results", join(dir, "run")], dir);
    assert.equal(results.code, 0, results.stderr);
    assert.match(
      results.stdout,
      /> run 1 is incomplete: it was interrupted \(Ctrl-C\); 2 of 2 trials missing: v=1 seed=0 \(interrupted\), v=2 seed=0 \(interrupted\)/,
    );
  });
});

Deno.test("a sweep killed with SIGKILL stays 'running' but kt results calls it incomplete", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, longYaml([1, 2], 60_000));
    const sweep = spawnSweep(sweepArgs(file, dir, "--jobs", "2"), dir);
    await jobsRunning(dir, 2);
    const running = await kt(["results", join(dir, "run"), "--format", "csv"], dir);
    assert.match(
      running.stderr,
      /run 1 is still running \(pid \d+ on [^)]+\): 2 of 2 trials not finished yet/,
    );
    Deno.kill(-sweep.child.pid, "SIGKILL");
    await sweep.done();

    const { run } = runOf(dir);
    assert.equal(run.status, "running", "nobody recorded the end");
    const r = await kt(["results", join(dir, "run")], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /> run 1 is incomplete: its sweep \(pid \d+ on [^)]+\) stopped without finishing \(killed\?\); 2 of 2 trials missing: v=1 seed=0 \(never finished\), v=2 seed=0 \(never finished\) — rerun the sweep/,
    );
  });
});

Deno.test("a training whose loss explodes (lr 1e6) is marked diverged; its sibling finishes", async () => {
  await inTempDir(async (dir) => {
    await writeTinyData(dir);
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(
      file,
      `name: diverge
backend: cpu
nodes:
  train: { use: npy, images: x.npy, labels: y.npy }
  student: { use: transfer, data: train, model: { use: mlp, hidden: [8] }, epochs: 3, batchSize: 4 }
  eval: { use: evaluate, model: student, queries: train, database: train, metrics: [accuracy] }
sweep:
  grid: { student.lr: [0.001, 1000000] }
`,
    );
    const r = await kt(sweepArgs(file, dir), dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /2 trials: 1 finished, 1 failed/);
    assert.match(
      r.stderr,
      /diverged: student\.lr=1000000 seed=0: .*training diverged: the loss grew to \S+, more than 10000 × its lowest/,
    );
    const { run, trials } = runOf(dir);
    assert.equal(run.status, "failed");
    assert.deepEqual(trials.map((t) => t.status), ["done", "diverged"]);
    assert.match(trials[1].reason!, /^student: .*training diverged/);
    const results = await kt(["results", join(dir, "run")], dir);
    assert.match(
      results.stdout,
      /> run 1 finished with 1 of 2 trials failed: student\.lr=1000000 seed=0 \(diverged\)/,
    );
  });
});

Deno.test("two sweeps started together on one cache compute every job once and agree", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, slowYaml([1, 2, 3], 1500, 1500));
    const args = (n: number) => [
      "sweep",
      file,
      "--cache-dir",
      join(dir, "cache"),
      "--run-dir",
      join(dir, `run${n}`),
      "--jobs",
      "2",
      "--format",
      "json",
    ];
    const [a, b] = await Promise.all([kt(args(1), dir), kt(args(2), dir)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const ran = (stderr: string) => Number(/ran slow ×(\d+)/.exec(stderr)?.[1] ?? 0);
    assert.equal(ran(a.stderr) + ran(b.stderr), 4, `${a.stderr}\n---\n${b.stderr}`);
    assert.match(
      a.stderr + b.stderr,
      /waiting: first \(v=1 seed=0\) is being computed by another process/,
    );
    assert.deepEqual(JSON.parse(a.stdout), JSON.parse(b.stdout));
    // One artifact per job, nothing left locked.
    const locks = await Array.fromAsync(Deno.readDir(join(dir, "cache", "locks")));
    assert.deepEqual(locks.map((e) => e.name), []);
  });
});
