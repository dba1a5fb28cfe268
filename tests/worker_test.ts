/**
 * Workers get their job: the spec a sweep hands a worker holds the node, the nodes it reads and
 * the user plugin files to import, so the worker never reads the experiment file or expands the
 * sweep — its start-up does not grow with the number of trials.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../plugins/mod.ts";
import type { JobSpec } from "../src/api.ts";
import { openCache } from "../src/cache.ts";
import { workerCommand } from "../src/cli.ts";
import { loadExperiment } from "../src/config/mod.ts";
import { runJobInProcess } from "../src/engine/execute.ts";
import { runSweep } from "../src/engine/sweep.ts";
import { createRegistry } from "../src/registry.ts";
import { MAIN, SLOW_STEP } from "./fixtures/tiny.ts";

const registry = createRegistry(builtinPlugins);

function yaml(values: number): string {
  return `name: many
backend: cpu
plugins: [${SLOW_STEP}]
nodes:
  base: { use: slow, value: 1 }
  top:
    use: slow
    input: base
    value: \${v}
sweep:
  grid: { v: [${Array.from({ length: values }, (_, i) => i).join(", ")}] }
`;
}

/** The job specs a sweep of `file` hands its executor (recorded, not run). */
async function specsOf(file: string, dir: string): Promise<JobSpec[]> {
  const loaded = await loadExperiment(file, registry);
  const specs: JobSpec[] = [];
  const inline = registry.get("executor", "inline");
  await runSweep(loaded, {
    cacheDir: join(dir, "cache"),
    runDir: join(dir, "run"),
    jobs: 1,
    executor: {
      ...inline,
      create: () => ({
        concurrency: 1,
        run: (spec) => {
          specs.push(spec);
          return Promise.resolve({ ok: false, reason: "recorded" });
        },
      }),
    },
    workerCommand: (job) => workerCommand({ entry: MAIN }, job),
    runInProcess: (job, events) => runJobInProcess(loaded, job, events, {}),
    tty: false,
    log: () => {},
  });
  return specs;
}

Deno.test("a worker computes its job from the spec alone: the experiment file is gone, nothing is expanded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-worker-" });
  try {
    const file = join(dir, "many.yaml");
    await Deno.writeTextFile(file, yaml(2000));
    const [base] = await specsOf(file, dir);
    assert.equal(base.node, "base");
    await Deno.remove(file);

    const cmd = workerCommand({ entry: MAIN }, base);
    const child = new Deno.Command(cmd.command, {
      args: cmd.args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(cmd.stdin));
    await writer.close();
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /@kt \{"type":"done"\}/);
    const artifact = await (await openCache(join(dir, "cache"))).get(base.key);
    assert.deepEqual(await artifact!.readJson("metrics.json"), { value: 1 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job's spec is the same size for a sweep of 3 trials and of 2000", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-worker-" });
  try {
    const sizes: number[] = [];
    for (const n of [3, 2000]) {
      await Deno.mkdir(join(dir, String(n)));
      const file = join(dir, String(n), "many.yaml");
      await Deno.writeTextFile(file, yaml(n));
      const [, top] = await specsOf(file, join(dir, String(n)));
      assert.equal(top, undefined, "top waits for base, which failed: one spec recorded");
      const [base] = await specsOf(file, join(dir, String(n)));
      sizes.push(JSON.stringify(base.work).replaceAll(join(dir, String(n)), "D").length);
      assert.deepEqual(base.work!.nodes.map((w) => w.name), ["base"]);
      assert.deepEqual(base.work!.plugins.map((p) => p.path), [SLOW_STEP]);
    }
    assert.equal(sizes[0], sizes[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
