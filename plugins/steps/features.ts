/**
 * `features`: runs a teacher (a trained model node, or a teacher plugin node such as `hog` or
 * `precomputed`) over a dataset once and caches the result as raw float32, so every student of a
 * sweep reads the same targets from disk.
 * @module
 */
import {
  checkFeatureRows,
  checkModelInput,
  datasetInput,
  defineStep,
  featureSourceInput,
  ref,
  z,
} from "../../mod.ts";

export default defineStep({
  name: "features",
  description: "extract a teacher's features (any layer, optionally logits) for every sample",
  version: "1",
  output: "features",
  seeded: false,
  options: z.object({
    model: ref("model", "teacher").describe("teacher node"),
    data: ref("dataset"),
    layer: z.string().default("representation").describe("layer name or `representation`"),
    logits: z.boolean().default(false).describe("also extract logits (for Hinton KD)"),
    layers: z.array(z.string()).default([]).describe(
      "more layers to keep (hint targets, multi-layer PKT)",
    ),
  }).strict(),
  describe(_opts, ctx) {
    checkModelInput(ctx, "model", "data");
    checkFeatureRows(
      ctx,
      "model",
      "data",
      "the teacher's file needs one row per sample, in dataset order (check split and limit)",
    );
    const data = ctx.input("data");
    const teacher = ctx.input("model");
    return data?.data
      ? { features: { size: data.data.size, dim: teacher?.features?.dim } }
      : undefined;
  },
  run(opts, ctx) {
    const source = featureSourceInput(ctx.inputs, "model");
    return source.extract(datasetInput(ctx.inputs, "data"), opts.layer, opts.logits, opts.layers);
  },
});
