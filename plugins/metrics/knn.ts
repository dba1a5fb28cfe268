/**
 * `knn`: k-nearest-neighbour accuracy — each query takes the majority label of its k most similar
 * database items (ties: the label with the nearest neighbour).
 * @module
 */
import { defineMetric, knnAccuracy, z } from "../../mod.ts";

export default defineMetric({
  name: "knn",
  description: "k-nearest-neighbour accuracy of the queries against the database",
  version: "1",
  options: z.object({
    k: z.number().int().positive().default(1),
    similarity: z.enum(["cosine", "euclidean"]).default("cosine"),
  }).strict(),
  async compute(options, { queries, database }) {
    const knn = await knnAccuracy(
      queries.features,
      queries.labels,
      database.features,
      database.labels,
      options,
    );
    return { knn };
  },
});
