/**
 * `evaluate`: the paper's protocol — representation of the test split (queries) against the
 * train split (database, no augmentation), scored by metric plugins (retrieval mAP / P@k,
 * accuracy of the model's head, k-NN accuracy, QMI).
 *
 * An evaluation of the teacher (a `trained-network` or teacher node) or of the plain student (a
 * node another step starts from with `init:`) is a *reference*: its own row of the comparison
 * table, never marked best. `reference: true` (label: this node's name) or `reference: "<label>"`
 * marks any evaluation as one; `reference: false` turns the guess off.
 * @module
 */
import {
  checkModelInput,
  datasetInput,
  defineStep,
  featureSourceInput,
  KtError,
  type MetricInputs,
  pluginSpec,
  ref,
  z,
} from "../../mod.ts";

export default defineStep({
  name: "evaluate",
  description: "score a model's (or teacher's) representation: retrieval, accuracy, QMI, ...",
  version: "1",
  output: "metrics",
  seeded: false,
  options: z.object({
    model: ref("model", "teacher"),
    queries: ref("dataset").describe("query split (test)"),
    database: ref("dataset").describe("database split (train)"),
    layer: z.string().default("representation"),
    // The default goes through the same parsing as a written list (prefault, not default).
    metrics: z.array(pluginSpec("metric")).min(1).prefault(["retrieval"]),
    reference: z.union([z.boolean(), z.string().min(1)]).optional().describe(
      "a reference row (true: labelled by this node's name; a string: the label; false: never); " +
        "default: the teacher's and the plain student's evaluations",
    ),
  }).strict(),
  labelOptions: ["reference"],
  reference(opts, graph) {
    if (opts.reference === false) return undefined;
    if (opts.reference === true) return { label: graph.name };
    if (opts.reference !== undefined) return { label: opts.reference };
    const model = graph.nodes[opts.model];
    if (model?.kind === "teacher" || model?.use === "trained-network") {
      return { label: roleLabel("teacher", opts.model), inferred: true };
    }
    const startsFrom = Object.entries(graph.nodes).some(([name, node]) =>
      name !== graph.name && node.refs.some((r) => r.option === "init" && r.node === opts.model)
    );
    return startsFrom
      ? { label: roleLabel("plain student", opts.model), inferred: true }
      : undefined;
  },
  describe(_opts, ctx) {
    checkModelInput(ctx, "model", "queries");
    checkModelInput(ctx, "model", "database");
    return undefined;
  },
  async run(opts, ctx) {
    const source = featureSourceInput(ctx.inputs, "model");
    const queries = datasetInput(ctx.inputs, "queries");
    const database = { ...datasetInput(ctx.inputs, "database") };
    database.augment = undefined;
    const q = await source.extract(queries, opts.layer, true);
    const db = await source.extract(database, opts.layer, false);
    const inputs: MetricInputs = {
      queries: { features: q.features, labels: queries.y },
      database: { features: db.features, labels: database.y },
      queryLogits: q.logits,
    };
    const out: Record<string, number> = {};
    for (const spec of opts.metrics) {
      const metric = ctx.plugin(spec);
      // Defaults listed in this schema bypass the validator: parse them here (idempotent).
      const values = await metric.compute(metric.options.parse(spec.options), inputs);
      for (const [name, value] of Object.entries(values)) {
        if (name in out) {
          throw new KtError(`metric "${name}" is produced twice`, {
            hint: "list each metric once",
          });
        }
        out[name] = value;
      }
    }
    return out;
  },
});

/** `teacher` for a node named `teacher`, else `teacher (<node>)`. */
function roleLabel(role: string, node: string): string {
  return node === role ? role : `${role} (${node})`;
}
