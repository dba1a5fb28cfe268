/**
 * `kt export`: a trained model of one trial as a tfjs layers model.
 * @module
 */
import type { Command } from "commander";
import type { Registry } from "../registry.ts";
import { loadExperiment } from "../config/mod.ts";
import { exportModel } from "../export.ts";
import { dirsOf, experimentOf, OVERRIDES_HELP } from "./shared.ts";

/** Adds `kt export` to `program`. */
export function exportCommand(program: Command, registry: Registry): void {
  program.command("export")
    .description(
      "write a trained model (a node of one trial) as a tfjs layers model: model.json + weights.bin",
    )
    .argument("<run>", "experiment YAML, or a run directory (the experiment file it recorded)")
    .argument("[overrides...]", OVERRIDES_HELP)
    .requiredOption("--node <name>", "the node whose model to export, e.g. student")
    .option(
      "--trial <which>",
      'the trial: its label ("method=pkt seed=0"), some of its parameters (method=pkt,seed=0) ' +
        "or its id (needed when the sweep has several)",
    )
    .option("--out <dir>", "output directory (default: <run-dir>/export/<node>-<trial id>)")
    .option("--cache-dir <dir>", "artifact cache (default: the file's cacheDir or .kt/cache)")
    .addHelpText(
      "after",
      `
Example:
  deno task kt export experiments/quickstart.yaml --node student --trial "method=pkt seed=0"`,
    )
    .action(async (run: string, overrides: string[], o) => {
      const loaded = await loadExperiment(experimentOf(run), registry, { overrides });
      const { cacheDir, runDir } = dirsOf(loaded, { cacheDir: o.cacheDir });
      const out = await exportModel(loaded, {
        node: o.node,
        trial: o.trial,
        cacheDir,
        runDir: /\.ya?ml$/.test(run) ? runDir : run,
        out: o.out,
      });
      const shape = out.inputShape ? `, input ${out.inputShape.join("×")}` : "";
      console.log(
        `exported ${out.node} of trial "${out.trial.label}" to ${out.dir}: model.json + ` +
          `weights.bin (tfjs layers), kt.json (where it came from)\n` +
          `  layers: ${out.layers.join(", ")}${shape}\n` +
          `  representation (transferred) layer: ${out.representation ?? "?"}\n` +
          `load it back:\n` +
          `  as a teacher:  teacher: { use: saved, path: ${out.dir} }\n` +
          `  in kt:         const { net } = await loadModel("${out.dir}"); // from mod.ts\n` +
          `  in tfjs:       await tf.loadLayersModel("file://${out.dir}/model.json")`,
      );
    });
}
