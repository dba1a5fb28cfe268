/**
 * `retrieval`: the paper's protocol — each query ranks the database by similarity; same label =
 * relevant. Reports `mAP` and `P@k` for each cut-off (fractions in [0, 1]).
 * @module
 */
import { DEFAULT_PRECISION_K, defineMetric, retrievalMetrics, z } from "../../mod.ts";

export default defineMetric({
  name: "retrieval",
  description: "retrieval mAP and precision at k (queries ranked against the database)",
  version: "1",
  options: z.object({
    similarity: z.enum(["cosine", "euclidean"]).default("cosine"),
    k: z.array(z.number().int().positive()).default([...DEFAULT_PRECISION_K])
      .describe("cut-offs for precision at k"),
    interpolation: z.enum(["exact", "11-point"]).default("exact")
      .describe("exact AP, or the official evaluator's 11-point interpolated AP"),
  }).strict(),
  async compute(options, { queries, database }) {
    const result = await retrievalMetrics(
      queries.features,
      queries.labels,
      database.features,
      database.labels,
      options,
    );
    const out: Record<string, number> = { mAP: result.mAP };
    for (const [k, p] of Object.entries(result.precisionAt)) out[`P@${k}`] = p;
    return out;
  },
});
