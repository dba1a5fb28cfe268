/**
 * `qmi`: quadratic mutual information between the representation and the labels (cosine
 * information potentials), on the queries (default) or the database.
 * @module
 */
import { defineMetric, quadraticMutualInformation, z } from "../../mod.ts";

export default defineMetric({
  name: "qmi",
  description: "quadratic mutual information of representation and labels (cosine kernel)",
  version: "1",
  options: z.object({
    on: z.enum(["queries", "database"]).default("queries").describe("which split to measure"),
  }).strict(),
  compute(options, inputs) {
    const split = inputs[options.on];
    const qmi = quadraticMutualInformation(split.features, split.labels);
    return Promise.resolve({ qmi });
  },
});
