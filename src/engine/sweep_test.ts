import assert from "node:assert/strict";
import { join } from "node:path";
import { builtinPlugins } from "../../plugins/mod.ts";
import { loadExperiment } from "../config/mod.ts";
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
