/**
 * `kt report`: the self-contained HTML report of a run, with the retrieval gallery on request.
 * @module
 */
import type { Command } from "commander";
import type { Registry } from "../registry.ts";
import { useBackend } from "../backend/select.ts";
import { loadExperiment } from "../config/mod.ts";
import { galleryMethods, loadReportInput, writeReport } from "../report.ts";
import { buildGallery } from "../gallery.ts";
import { dirsOf, experimentOf } from "./shared.ts";

/** Adds `kt report` to `program`. */
export function reportCommand(program: Command, registry: Registry): void {
  program.command("report")
    .description("write a self-contained HTML report (table, charts, configs) of a run")
    .argument("<run>", "run directory (holding results.sqlite) or experiment YAML")
    .argument("[overrides...]", "for --gallery: the overrides the sweep ran with")
    .option("--out <file>", "output file (default: <run-dir>/report.html)")
    .option("--run-id <n>", "which sweep invocation (default: the latest)")
    .option(
      "--gallery",
      "add each method's top-10 retrieved images for a few test queries (reads the trained " +
        "students from the cache; image data only)",
    )
    .option("--cache-dir <dir>", "artifact cache, for --gallery (default: the file's or .kt/cache)")
    .action(async (run: string, overrides: string[], o) => {
      const runDir = /\.ya?ml$/.test(run)
        ? dirsOf(await loadExperiment(run, registry, { overrides }), {}).runDir
        : run;
      const runId = o.runId === undefined ? undefined : Number(o.runId);
      let gallery;
      if (o.gallery) {
        const loaded = await loadExperiment(experimentOf(run), registry, { overrides });
        const { cacheDir } = dirsOf(loaded, { cacheDir: o.cacheDir });
        await useBackend(loaded.experiment.backend);
        gallery = await buildGallery(loaded, {
          cacheDir,
          methods: galleryMethods(loadReportInput(runDir, runId)),
          log: (line) => console.error(line),
        });
        if (!gallery) console.error("no gallery: the retrieval data are not images");
      }
      console.log(await writeReport(runDir, { out: o.out, runId, gallery }));
    });
}
