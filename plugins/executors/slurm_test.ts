/**
 * The slurm executor against a real Slurm cluster (a single node on this machine: run
 * `bash tests/slurm/setup.sh` first). Without Slurm these tests are skipped, unless CI is set,
 * where that is a failure.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ExecutorEnv,
  type JobEvents,
  type JobResult,
  type JobSpec,
  KtError,
} from "../../mod.ts";
import { findOnPath, runCommand, scontrolState, squeueStates } from "./_slurm.ts";
import slurm, { type SlurmOptions } from "./slurm.ts";

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const CI = !!Deno.env.get("CI");

/** Whether a Slurm controller answers here. */
async function slurmUp(): Promise<boolean> {
  if (!findOnPath("sinfo")) return false;
  return (await runCommand("sinfo", ["-h", "-o", "%T"]).catch(() => ({ code: 1 }))).code === 0;
}
const SLURM = await slurmUp();
const ignore = !SLURM && !CI;

if (!SLURM && CI) {
  Deno.test("a Slurm cluster is reachable (CI runs tests/slurm/setup.sh first)", () => {
    assert.fail(
      `sinfo is ${
        findOnPath("sinfo") ? "there but the controller does not answer" : "not on PATH"
      }` +
        ": run `bash tests/slurm/setup.sh` before the tests",
    );
  });
}

const EXPERIMENT = `
name: slurm-tiny
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 200 }
  test: { use: mnist, split: test, limit: 50 }
  teacher:
    use: trained-network
    data: train
    model: { use: cnn, filters: [4], dense: [8] }
    epochs: 1
  targets: { use: features, model: teacher, data: train }
  student:
    use: transfer
    data: train
    targets: targets
    model: { use: cnn, filters: [4], dense: [8] }
    loss: \${method}
    epochs: 1
  eval:
    use: evaluate
    model: student
    queries: test
    database: train
    metrics: [accuracy, retrieval]
sweep:
  grid:
    method: [pkt, none]
`;

/** Runs `fn` in a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt_slurm_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function sweep(file: string, dir: string, extra: string[], env?: Record<string, string>) {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "main.ts"),
      "sweep",
      file,
      "--format",
      "json",
      "--cache-dir",
      join(dir, "cache"),
      "--run-dir",
      join(dir, "run"),
      ...extra,
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

Deno.test({
  name: "a sweep through Slurm runs every job as a Slurm job and gives the local executor's table",
  ignore,
  async fn() {
    await inTempDir(async (dir) => {
      const file = join(dir, "exp.yaml");
      await Deno.writeTextFile(file, EXPERIMENT);
      const viaSlurm = await sweep(file, join(dir, "slurm"), [
        "--executor",
        "slurm",
        "--executor-options",
        '{"partition":"debug","pollSeconds":0.25,"time":"10"}',
      ]);
      assert.equal(viaSlurm.code, 0, viaSlurm.stderr);
      const local = await sweep(file, join(dir, "local"), ["--executor", "local"]);
      assert.equal(local.code, 0, local.stderr);
      console.log(
        `slurm sweep ${viaSlurm.seconds.toFixed(1)} s, local sweep ${local.seconds.toFixed(1)} s`,
      );

      // Six distinct jobs (teacher, features, two students, two evaluations), each a Slurm job
      // that the controller saw complete, with the worker's "done" in its log.
      const rows = (await Deno.readTextFile(join(dir, "slurm", "run", "slurm", "jobs.tsv")))
        .trim().split("\n").map((l) => l.split("\t"));
      assert.deepEqual(
        rows.map((r) => r[2]).sort(),
        ["eval", "eval", "student", "student", "targets", "teacher"],
      );
      for (const [id, key, node] of rows) {
        const info = await scontrolState(id);
        assert.equal(info?.state, "COMPLETED", `Slurm job ${id} (${node})`);
        const log = await Deno.readTextFile(
          join(dir, "slurm", "run", "slurm", `${node}-${key.slice(0, 12)}.out`),
        );
        assert.match(log, /^@kt \{"type":"done"\}$/m);
      }

      const table = JSON.parse(viaSlurm.stdout);
      assert.equal(table.rows.length, 2);
      // The two methods give different representations, so the comparison is not vacuous.
      assert.notEqual(table.rows[0].metrics.mAP.mean, table.rows[1].metrics.mAP.mean);
      assert.deepEqual(table, JSON.parse(local.stdout));
    });
  },
});

Deno.test("the slurm executor says sbatch is missing, and from which package, when it is", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const r = await sweep(file, dir, ["--executor", "slurm"], { PATH: "/nonexistent" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /error: the slurm executor needs sbatch, squeue, scancel, which are not on PATH/,
    );
    assert.match(r.stderr, /apt-get install slurm-client/);
  });
});

// ---------------------------------------------------------------- the executor object directly

/** A job spec for a fake worker (the command is given by the env, not by kt). */
function spec(dir: string, key: string, after: string[] = []): JobSpec {
  return {
    key: key.padEnd(64, "0"),
    node: key,
    trialId: "t",
    label: "test",
    after: after.map((k) => k.padEnd(64, "0")),
    file: join(dir, "none.yaml"),
    cacheDir: join(dir, "cache"),
    runDir: join(dir, "run"),
    netHosts: [],
  };
}

/** An executor whose worker for node N runs `scripts[N]` with sh. */
function executor(scripts: Record<string, string>, options: Partial<SlurmOptions> = {}) {
  const env: ExecutorEnv = {
    jobs: 4,
    workerCommand: (job) => ({ command: "/bin/sh", args: ["-c", scripts[job.node]], stdin: "{}" }),
    runInProcess: () => Promise.reject(new Error("not used")),
    log: () => {},
  };
  return slurm.create(slurm.options.parse({ pollSeconds: 0.25, ...options }), env);
}

function recorder() {
  const logs: string[] = [];
  const events: JobEvents = { curve: () => {}, log: (l) => logs.push(l) };
  return { logs, events };
}

const DONE = `echo '@kt {"type":"done"}'`;

Deno.test({
  name: "cancel() scancels a running Slurm job, which is reported failed with Slurm's state",
  ignore,
  async fn() {
    await inTempDir(async (dir) => {
      const ex = executor({ sleeper: "sleep 300" });
      const { logs, events } = recorder();
      const result = ex.run(spec(dir, "sleeper"), events);
      let id: string | undefined;
      for (let i = 0; i < 100 && !id; i++) {
        await new Promise((r) => setTimeout(r, 100));
        id = logs.join("\n").match(/Slurm job (\d+)/)?.[1];
        if (id && (await squeueStates()).get(id)?.state !== "RUNNING") id = undefined;
      }
      assert.ok(id, "the job never ran");
      await ex.cancel!();
      const r = await result;
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, new RegExp(`^CANCELLED: .*Slurm job ${id}`));
      assert.equal((await scontrolState(id))?.state, "CANCELLED");
      // After cancel, nothing more is submitted.
      const again = await ex.run(spec(dir, "sleeper"), events);
      assert.deepEqual(again, { ok: false, reason: "cancelled before submission" });
    });
  },
});

Deno.test({
  name: "a job that depends on a queued one waits for it (afterok) and is cancelled if it fails",
  ignore,
  async fn() {
    await inTempDir(async (dir) => {
      const flag = join(dir, "first-done");
      const ex = executor({
        first: `sleep 2; touch '${flag}'; ${DONE}`,
        second: `test -f '${flag}' && ${DONE}`,
        broken: "echo 'something broke' >&2; exit 3",
        orphan: DONE,
      });
      const { events } = recorder();
      // Submitted together: the second only succeeds if Slurm holds it until the first ended.
      const first = ex.run(spec(dir, "first"), events);
      const second = ex.run(spec(dir, "second", ["first"]), events);
      const broken = ex.run(spec(dir, "broken"), events);
      const orphan = ex.run(spec(dir, "orphan", ["broken"]), events);
      const results: JobResult[] = await Promise.all([first, second, broken, orphan]);
      assert.deepEqual(results[0], { ok: true });
      assert.deepEqual(results[1], { ok: true });
      assert.equal(results[2].ok, false);
      assert.match(
        (results[2] as { reason: string }).reason,
        /exited with code 3.*something broke/,
      );
      assert.equal(results[3].ok, false);
      assert.match(
        (results[3] as { reason: string }).reason,
        /^CANCELLED: DependencyNeverSatisfied/,
      );
      const script = await Deno.readTextFile(
        join(dir, "run", "slurm", `second-${"second".padEnd(12, "0")}.sh`),
      );
      assert.match(script, /^#SBATCH --job-name=kt-second$/m);
    });
  },
});

Deno.test({
  name: "a job the cluster rejects fails with sbatch's own message; unwritable dirs are named",
  ignore,
  async fn() {
    await inTempDir(async (dir) => {
      const { events } = recorder();
      await assert.rejects(
        executor({ x: DONE }, { partition: "no-such-partition" }).run(spec(dir, "x"), events),
        (err: unknown) =>
          err instanceof KtError && /Slurm rejected the job .*invalid partition/i.test(err.message),
      );
      await Deno.writeTextFile(join(dir, "plain-file"), "");
      const job = { ...spec(dir, "x"), cacheDir: join(dir, "plain-file", "cache") };
      await assert.rejects(
        executor({ x: DONE }).run(job, events),
        (err: unknown) =>
          err instanceof KtError &&
          err.message.startsWith(`the cache directory ${job.cacheDir} is not writable`),
      );
    });
  },
});
