/**
 * `kt plugins`: every plugin with its options.
 * @module
 */
import type { Command } from "commander";
import { PLUGIN_KINDS } from "../api.ts";
import { choiceFlag } from "../flags.ts";
import type { Registry } from "../registry.ts";
import { loadExperiment } from "../config/mod.ts";
import { describePlugins } from "../describe.ts";

/** Adds `kt plugins` to `program`. */
export function pluginsCommand(program: Command, registry: Registry): void {
  program.command("plugins")
    .description("list every plugin (built-in and listed in an experiment) with its options")
    .option(
      "--kind <kind>",
      `only this kind: ${PLUGIN_KINDS.join(", ")}`,
      choiceFlag("--kind", PLUGIN_KINDS),
    )
    .option("--file <yaml>", "also load the plugin files this experiment lists")
    .action(async (o) => {
      const reg = o.file ? (await loadExperiment(o.file, registry)).experiment.registry : registry;
      console.log(describePlugins(reg.list(), o.kind));
    });
}
