/**
 * End-to-end behaviour of the sweep engine on a small MNIST subset: shared nodes run once,
 * reruns come from the cache, a failing trial does not stop the others, and a sweep killed with
 * SIGKILL, with a cached file corrupted afterwards, resumes to the same table as an
 * uninterrupted run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../plugins/mod.ts";
import { createRegistry } from "../src/registry.ts";
import { loadExperiment } from "../src/config/mod.ts";
import { jobThreads, runSweep } from "../src/engine/sweep.ts";
import { workerCommand } from "../src/cli.ts";
import { openResults } from "../src/results.ts";
import { sweepInline as sweepLoaded } from "./fixtures/inline_sweep.ts";
import { materialize, planTrial, releaseMemo, runJobInProcess } from "../src/engine/execute.ts";
import { openCache } from "../src/cache.ts";
import { useBackend } from "../src/backend/select.ts";
import { provenanceContext } from "../src/provenance.ts";
import { writeNpy } from "../src/io/npy.ts";
import type { KtModel, TrainedModel } from "../src/api.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");
const registry = createRegistry(builtinPlugins);

function experimentYaml(methods: string[], seeds: number[], extra = ""): string {
  return `name: engine-test
backend: wasm
${extra}
nodes:
  train: { use: mnist, split: train, limit: 300 }
  test: { use: mnist, split: test, limit: 100 }
  teacher:
    use: trained-network
    data: train
    model: { use: cnn, filters: [8], dense: [16] }
    epochs: 1
    batchSize: 64
  targets: { use: features, model: teacher, data: train, logits: true }
  student:
    use: transfer
    data: train
    targets: targets
    model: { use: mlp, hidden: [16] }
    loss: \${method}
    epochs: 1
    batchSize: 64
  eval:
    use: evaluate
    model: student
    queries: test
    database: train
    metrics: [retrieval, accuracy]
sweep:
  grid: { method: [${methods.join(", ")}] }
  seeds: [${seeds.join(", ")}]
`;
}

async function writeExperiment(dir: string, yaml: string): Promise<string> {
  const file = join(dir, "exp.yaml");
  await Deno.writeTextFile(file, yaml);
  return file;
}

async function sweepInline(file: string, dir: string) {
  return await sweepLoaded(await loadExperiment(file, registry), dir);
}

Deno.test("a sweep of N students over one teacher trains it and extracts its features once; a rerun is all cached", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await writeExperiment(dir, experimentYaml(["pkt", "hinton", "none"], [0, 1]));
    const first = await sweepInline(file, dir);
    assert.equal(first.failed, 0);
    assert.equal(first.trials.length, 6);
    assert.equal(first.executed["trained-network"], 1);
    assert.equal(first.executed.features, 1);
    assert.equal(first.executed.transfer, 6);
    assert.equal(first.executed.evaluate, 6);
    for (const t of first.trials) {
      assert.ok(t.metrics.mAP > 0.1 && t.metrics.mAP <= 1, `${t.label} mAP ${t.metrics.mAP}`);
      assert.ok(t.metrics.accuracy >= 0 && t.metrics.accuracy <= 1);
    }
    // Different seeds give different students.
    assert.notEqual(first.trials[0].metrics.mAP, first.trials[1].metrics.mAP);

    const second = await sweepInline(file, dir);
    assert.deepEqual(second.executed, {});
    assert.equal(second.cached, 1 + 1 + 6 + 6);
    assert.ok(second.trials.every((t) => t.status === "cached"));
    assert.deepEqual(second.trials.map((t) => t.metrics), first.trials.map((t) => t.metrics));
    // The rerun knows what the cache saved: the compute time each manifest recorded.
    assert.equal(first.cached, 0);
    assert.equal(first.cachedComputeSeconds, 0);
    const cache = await openCache(join(dir, "cache"));
    const recorded: unknown[] = [];
    for (const e of await cache.list()) {
      recorded.push((await cache.get(e.key))!.manifest.info.computeSeconds);
    }
    assert.equal(recorded.length, 14);
    assert.ok(recorded.every((s) => typeof s === "number" && s >= 0), `${recorded}`);
    const total = (recorded as number[]).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(second.cachedComputeSeconds - total) < 1e-6);
    assert.ok(total > 0 && second.cacheReadSeconds > 0 && second.cacheReadSeconds < total);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a trial whose loss turns NaN is marked diverged with its reason while the others finish", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plugin = join(ROOT, "tests/fixtures/engine/nan_loss.ts");
    const file = await writeExperiment(
      dir,
      experimentYaml(["none", "nan-loss"], [0], `plugins: [${plugin}]`),
    );
    const report = await sweepInline(file, dir);
    const byLabel = Object.fromEntries(report.trials.map((t) => [t.label, t]));
    assert.equal(byLabel["method=none seed=0"].status, "done");
    assert.equal(byLabel["method=nan-loss seed=0"].status, "diverged");
    assert.match(
      byLabel["method=nan-loss seed=0"].reason!,
      /student: .*loss became NaN at epoch 1, step 1/,
    );
    assert.equal(report.failed, 1);
    const db = openResults(join(dir, "run"));
    const rows = db.trials(db.latestRun()!.id);
    db.close();
    assert.equal(rows.find((r) => r.label === "method=nan-loss seed=0")!.status, "diverged");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `deno run main.ts sweep` arguments for a run in `dir`. */
function sweepArgs(file: string, dir: string, ...extra: string[]): string[] {
  const dirs = ["--cache-dir", join(dir, "cache"), "--run-dir", join(dir, "run")];
  return ["run", "-A", MAIN, "sweep", file, "--jobs", "2", ...dirs, ...extra];
}

async function cliSweep(file: string, dir: string) {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: sweepArgs(file, dir, "--format", "json"),
    stdout: "piped",
    stderr: "piped",
  });
  return await cmd.output();
}

async function artifactFiles(cacheDir: string, name: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory && e.name !== "tmp") await walk(p);
      else if (e.isFile && e.name === name) out.push(p);
    }
  };
  try {
    await walk(cacheDir);
  } catch { /* not created yet */ }
  return out;
}

Deno.test("a sweep killed with SIGKILL, with a cached file then corrupted, resumes to the same table", async () => {
  const clean = await Deno.makeTempDir();
  const crashed = await Deno.makeTempDir();
  try {
    const yaml = experimentYaml(["pkt", "none"], [0, 1]);
    const reference = await cliSweep(await writeExperiment(clean, yaml), clean);
    assert.equal(reference.code, 0, new TextDecoder().decode(reference.stderr));
    const expected = JSON.parse(new TextDecoder().decode(reference.stdout));

    // Start the same sweep elsewhere and kill it (the whole process group) once students exist.
    const file = await writeExperiment(crashed, yaml);
    const child = new Deno.Command("setsid", {
      args: [Deno.execPath(), ...sweepArgs(file, crashed)],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 120_000;
    while ((await artifactFiles(join(crashed, "cache"), "history.json")).length < 3) {
      if (Date.now() > deadline) throw new Error("the sweep made no progress");
      await new Promise((r) => setTimeout(r, 100));
    }
    Deno.kill(-child.pid, "SIGKILL");
    await child.status;

    // Corrupt one cached file: the teacher features.
    const [features] = await artifactFiles(join(crashed, "cache"), "features.f32");
    assert.ok(features, "features were cached before the kill");
    const bytes = await Deno.readFile(features);
    bytes[100] ^= 0xff;
    await Deno.writeFile(features, bytes);

    const resumed = await cliSweep(file, crashed);
    const stderr = new TextDecoder().decode(resumed.stderr);
    assert.equal(resumed.code, 0, stderr);
    assert.match(stderr, /corrupt/);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(resumed.stdout)), expected);
  } finally {
    await Deno.remove(clean, { recursive: true });
    await Deno.remove(crashed, { recursive: true });
  }
});

Deno.test("FitNets in two stages: the hint stage trains only up to the hint layer, then KD trains all", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const yaml = `name: fitnets-two-stage
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 200 }
  teacher:
    use: trained-network
    data: train
    model: { use: cnn, filters: [8], dense: [16] }
    epochs: 1
  targets: { use: features, model: teacher, data: train, logits: true, layers: [pool1] }
  hints:
    use: transfer
    data: train
    targets: targets
    model: { use: cnn, filters: [4], dense: [8] }
    loss: { use: fitnets, stage: hint, studentLayer: pool1, teacherLayer: pool1 }
    trainUpTo: pool1
    epochs: 1
    seed: 5
  student:
    use: transfer
    data: train
    targets: targets
    init: hints
    model: { use: cnn, filters: [4], dense: [8] }
    loss: { use: fitnets, stage: kd }
    epochs: 1
    seed: 5
`;
    const loaded = await loadExperiment(await writeExperiment(dir, yaml), registry);
    const [trial] = loaded.trials;
    const plans = planTrial(trial, await provenanceContext(loaded.experiment, loaded.trials));
    const rt = {
      cache: await openCache(join(dir, "cache")),
      registry: loaded.experiment.registry,
      cacheDir: join(dir, "cache", "datasets"),
      log: () => {},
    };
    await useBackend("wasm");
    const memo = new Map<string, Promise<unknown>>();
    const hints = await materialize(trial, plans, "hints", rt, memo) as TrainedModel;
    const student = await materialize(trial, plans, "student", rt, memo) as TrainedModel;
    const fresh = registry.get("model", "cnn").build(
      registry.get("model", "cnn").options.parse({ filters: [4], dense: [8] }),
      { inputShape: [28, 28, 1], numClasses: 10, seed: 5 },
    );
    const weights = (m: KtModel, layer: string) =>
      Array.from(m.net.getLayer(layer).getWeights()[0].dataSync());
    // Stage 1 moved the conv layer but left the dense layers as initialised.
    assert.notDeepEqual(weights(hints.model, "conv1"), weights(fresh, "conv1"));
    assert.deepEqual(weights(hints.model, "fc1"), weights(fresh, "fc1"));
    assert.deepEqual(weights(hints.model, "logits"), weights(fresh, "logits"));
    // Stage 2 started from stage 1 and trained everything.
    assert.notDeepEqual(weights(student.model, "logits"), weights(hints.model, "logits"));
    releaseMemo(memo);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("relative file paths in options start at the experiment file's directory", async () => {
  const dir = await Deno.makeTempDir();
  const elsewhere = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    await Deno.mkdir(join(dir, "data"));
    // 20 samples × 3 features, aligned with the 20-image subset below.
    const rows = Float32Array.from({ length: 60 }, (_, i) => i / 7);
    await writeNpy(join(dir, "data", "feats.npy"), rows, [20, 3]);
    const yaml = `name: paths
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 20 }
  captions: { use: precomputed, file: data/feats.npy }
  targets: { use: features, model: captions, data: train }
`;
    const loaded = await loadExperiment(await writeExperiment(dir, yaml), registry);
    Deno.chdir(elsewhere); // the working directory must not matter
    const [trial] = loaded.trials;
    const ctx = await provenanceContext(loaded.experiment, loaded.trials);
    const out = await materialize(trial, planTrial(trial, ctx), "targets", {
      cache: await openCache(join(dir, "cache")),
      registry: loaded.experiment.registry,
      cacheDir: join(dir, "cache", "datasets"),
      baseDir: loaded.experiment.dir,
      log: () => {},
    }) as { features: { values: Float32Array; dim: number } };
    assert.equal(out.features.dim, 3);
    assert.deepEqual(out.features.values, rows);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("jobThreads() gives a job the cores of the jobs it does not share them with", () => {
  assert.equal(jobThreads(2, 2, 0, 1), 2); // alone (the teacher every student waits for)
  assert.equal(jobThreads(2, 2, 0, 6), 1); // six ready, two at a time
  assert.equal(jobThreads(2, 2, 1, 1), 1); // one already running
  assert.equal(jobThreads(8, 2, 0, 5), 4);
  assert.equal(jobThreads(2, 4, 3, 1), 1); // never below one
  assert.equal(jobThreads(2, 1, 0, 9), 2); // --jobs 1
});

Deno.test("a sweep hands the lone teacher job all cores and parallel students a share", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await writeExperiment(dir, experimentYaml(["pkt", "none"], [0, 1]));
    const loaded = await loadExperiment(file, registry);
    const inline = registry.get("executor", "inline");
    const seen: Array<{ node: string; threads?: number }> = [];
    const recording = {
      ...inline,
      create: (o: unknown, env: Parameters<typeof inline.create>[1]) => {
        const ex = inline.create(o, env);
        return {
          ...ex,
          run: (spec: Parameters<typeof ex.run>[0], events: Parameters<typeof ex.run>[1]) => {
            seen.push({ node: spec.node, threads: spec.threads });
            return ex.run(spec, events);
          },
        };
      },
    };
    const backend = {};
    const report = await runSweep(loaded, {
      cacheDir: join(dir, "cache"),
      runDir: join(dir, "run"),
      jobs: 2,
      executor: recording,
      workerCommand: (job) => workerCommand({ entry: MAIN }, job),
      runInProcess: (job, events) => runJobInProcess(loaded, job, events, backend),
      tty: false,
      log: () => {},
    });
    assert.equal(report.failed, 0);
    const cores = navigator.hardwareConcurrency || 1;
    const teacher = seen.find((s) => s.node === "teacher")!;
    assert.equal(teacher.threads, cores);
    // Four students become ready together once the targets exist: two at a time share the cores.
    const students = seen.filter((s) => s.node === "student");
    assert.equal(students.length, 4);
    assert.equal(students[0].threads, Math.max(1, Math.floor(cores / 2)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
