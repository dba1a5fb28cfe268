/**
 * `saved` step: a tfjs layers model from disk (`model.json` + weight files), e.g. one trained
 * elsewhere and converted with the tfjs converter, or saved by `kt train --save`.
 * @module
 */
import { defineStep, filePath, loadModel, resolvePath, z } from "../../mod.ts";

export default defineStep({
  name: "saved",
  description: "a tfjs layers model loaded from a directory (model.json + weights)",
  version: "1",
  output: "model",
  seeded: false,
  options: z.object({
    path: filePath().describe(
      "directory holding model.json (relative to the experiment file)",
    ),
    representation: z.string().optional().describe("layer exposed for transfer"),
  }).strict(),
  async run(opts, ctx) {
    const model = await loadModel(resolvePath(ctx, opts.path));
    if (opts.representation) model.representation = opts.representation;
    return { model, history: [] };
  },
});
