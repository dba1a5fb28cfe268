import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../../plugins/mod.ts";
import { defineExecutor, defineStep, z } from "../api.ts";
import { openCache } from "../cache.ts";
import { loadExperiment, parseExperiment } from "../config/mod.ts";
import { materialize, planTrial } from "./execute.ts";
import { KtError } from "../errors.ts";
import { createRegistry } from "../registry.ts";
import { runSweep } from "./sweep.ts";

const QUICKSTART = new URL("../../experiments/quickstart.yaml", import.meta.url).pathname;

Deno.test("runSweep() with jobs 0 is an error naming --jobs and touches nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-sweep-test-" });
  try {
    const registry = createRegistry(builtinPlugins);
    const loaded = await loadExperiment(QUICKSTART, registry);
    for (const jobs of [0, -2, 1.5]) {
      await assert.rejects(
        () =>
          runSweep(loaded, {
            cacheDir: join(dir, "cache"),
            runDir: join(dir, "run"),
            jobs,
            executor: registry.get("executor", "local"),
            workerCommand: () => {
              throw new Error("no job may start");
            },
            runInProcess: () => Promise.reject(new Error("no job may start")),
            log: () => {},
          }),
        (e) => e instanceof KtError && e.where === "--jobs" && e.message.includes(`got ${jobs}`),
      );
    }
    // Before, every trial was left queued and reported interrupted; now no run is even started.
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sweep whose last job ends while it records a finished trial still finishes", async () => {
  // Two trials of one job each run at once. The first job's end is held back until the second
  // has computed too; the second ends `delay` ms after the first. For some delay, the second (the
  // last job in flight) ends while the sweep records the first trial (reading its metrics from
  // the cache): the sweep must notice that end instead of waiting on nothing (it hung there).
  for (const delay of [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30]) {
    await pairedSweep(delay);
  }
});

async function pairedSweep(delay: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-sweep-test-" });
  try {
    const score = defineStep({
      name: "score",
      description: "a fake score",
      output: "metrics",
      seeded: true,
      options: z.object({}).strict(),
      run: (_o, ctx) => Promise.resolve({ mAP: 0.5 + 0.1 * ctx.seed }),
    });
    const reg = createRegistry([...builtinPlugins, score]);
    const { trials, experiment } = await parseExperiment(
      "name: race\nnodes:\n  s: { use: score }\nsweep:\n  seeds: [0, 1]\n",
      join(dir, "race.yaml"),
      reg,
    );
    const cacheDir = join(dir, "cache");
    const cache = await openCache(cacheDir);
    const files = { registry: reg, baseDir: dir, files: new Map(), code: () => undefined };
    let computed = 0;
    let bothComputed: () => void = () => {};
    const both = new Promise<void>((r) => (bothComputed = r));
    const executor = defineExecutor({
      name: "paired",
      description: "ends two jobs `delay` ms apart",
      options: z.object({}).strict(),
      create: () => ({
        concurrency: 2,
        run: async (job) => {
          const trial = trials.find((t) => t.id === job.trialId)!;
          const rt = { cache, registry: reg, cacheDir, log: () => {} };
          await materialize(trial, planTrial(trial, files), job.node, rt);
          const order = computed++;
          if (computed === 2) bothComputed();
          await both;
          if (order === 1) await new Promise((r) => setTimeout(r, delay));
          return { ok: true };
        },
      }),
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const report = await Promise.race([
      runSweep({ experiment, trials }, {
        cacheDir,
        runDir: join(dir, "run"),
        jobs: 2,
        executor,
        workerCommand: () => ({ command: "false", args: [], stdin: "" }),
        runInProcess: () => Promise.reject(new Error("unused")),
        tty: false,
        log: () => {},
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the sweep hung after its last job (delay ${delay} ms)`)),
          10_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.deepEqual(report.trials.map((t) => [t.status, t.metrics.mAP]), [
      ["done", 0.5],
      ["done", 0.6],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
