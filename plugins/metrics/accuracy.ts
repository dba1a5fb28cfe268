/**
 * `accuracy`: classification accuracy of the model's own head on the queries (needs logits, so
 * the evaluated model must be a network, not a feature-only teacher).
 * @module
 */
import { accuracy, defineMetric, KtError, z } from "../../mod.ts";

export default defineMetric({
  name: "accuracy",
  description: "classification accuracy of the model's logits on the queries",
  version: "1",
  options: z.object({}).strict(),
  async compute(_options, { queries, queryLogits }) {
    if (!queryLogits) {
      throw new KtError(
        "metric accuracy needs the model's logits, but the evaluated source has none",
        {
          hint: "evaluate a trained network, or use knn / retrieval for feature-only teachers",
        },
      );
    }
    return { accuracy: await accuracy(queryLogits, queries.labels) };
  },
});
