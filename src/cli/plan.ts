/**
 * `kt plan`: the expanded trials, which nodes are cached and which evaluations are references.
 * @module
 */
import type { Command } from "commander";
import { join } from "node:path";
import type { Registry } from "../registry.ts";
import { loadExperiment } from "../config/mod.ts";
import { planTrial } from "../engine/execute.ts";
import { provenanceContext } from "../provenance.ts";
import { metricsNodes } from "../engine/references.ts";
import { preflight } from "../engine/preflight.ts";
import { openCache } from "../cache.ts";
import { dirsOf, OVERRIDES_HELP } from "./shared.ts";

/** Adds `kt plan` to `program`. */
export function planCommand(program: Command, registry: Registry): void {
  program.command("plan")
    .description(
      "print the expanded trials, which nodes are already cached and which evaluations are " +
        "references, without running",
    )
    .argument("<file>", "experiment YAML")
    .argument("[overrides...]", OVERRIDES_HELP)
    .option("--cache-dir <dir>", "artifact cache")
    .action(async (file: string, overrides: string[], o) => {
      const loaded = await loadExperiment(file, registry, { overrides });
      const { cacheDir } = dirsOf(loaded, o);
      await preflight(loaded, { cacheDir: join(cacheDir, "datasets") });
      const cache = await openCache(cacheDir);
      const seen = new Map<string, boolean>();
      console.log(
        `${loaded.experiment.name}: ${loaded.trials.length} trial(s), backend ${loaded.experiment.backend}`,
      );
      const ctx = await provenanceContext(loaded.experiment, loaded.trials, cacheDir);
      const plans = new Map(loaded.trials.map((t) => [t.id, planTrial(t, ctx)]));
      const metrics = metricsNodes(loaded.trials, plans);
      for (const trial of loaded.trials) {
        console.log(`trial ${trial.id} ${trial.label}`);
        const references = new Map(
          metrics.get(trial.id)!.map((n) => [n.node, n.reference] as const),
        );
        for (const plan of plans.get(trial.id)!.values()) {
          if (plan.node.kind !== "step") continue;
          const reference = references.get(plan.name);
          const shared = seen.has(plan.key);
          // Cached means sound: every file is read and checked (a corrupt copy is recomputed).
          let note = "";
          if (!shared) {
            const found = await cache.check(plan.key);
            seen.set(plan.key, found.status === "hit");
            if (found.status === "corrupt") note = ` (cached copy is corrupt: ${found.reason})`;
          }
          const state = seen.get(plan.key) ? "cached" : `to run${note}`;
          console.log(
            `  ${plan.name.padEnd(14)} ${plan.node.use.padEnd(16)} ${
              plan.key.slice(0, 12)
            } ${state}` +
              (shared ? " (shared)" : "") +
              (reference === undefined ? "" : ` · reference: ${reference}`),
          );
        }
      }
      const cached = [...seen.values()].filter(Boolean).length;
      console.log(`${seen.size} distinct job(s): ${cached} cached, ${seen.size - cached} to run`);
    });
}
