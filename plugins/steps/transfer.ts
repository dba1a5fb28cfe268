/**
 * `transfer`: trains a student network with any loss (PKT, Hinton, hints, plain cross-entropy),
 * optionally against cached teacher targets and optionally initialised from another trained
 * model node (the paper's protocol starts the student from its cross-entropy baseline).
 * The trial seed feeds it unless `seed` is given.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineStep, KtError, OptionError, pluginSpec, ref, z } from "../../src/api.ts";
import type { LossTerm } from "../../src/api.ts";
import {
  checkFeatureRows,
  datasetInput,
  describeTraining,
  featuresInput,
  modelInput,
  toTrainOptions,
  trainingOptions,
} from "../../src/steps.ts";
import { crossEntropyTerm, trainModel } from "../../src/train.ts";

const count = (n: number | undefined) => n === undefined ? "?" : n.toLocaleString("en-US");

export default defineStep({
  name: "transfer",
  description:
    "train a student with a (knowledge-transfer) loss, from scratch or from a trained model",
  version: "2",
  output: "model",
  seeded: true,
  options: z.object({
    data: ref("dataset").describe("training data node"),
    targets: ref("features").optional().describe("teacher features node (aligned with data)"),
    model: pluginSpec("model"),
    loss: pluginSpec("loss").optional().describe("default: cross-entropy"),
    init: ref("model").optional().describe(
      "start from this trained model's weights (same architecture)",
    ),
    trainUpTo: z.string().optional().describe(
      "train only the layers up to this one, plus the loss's own variables (FitNets hint stage)",
    ),
    ...trainingOptions,
  }).strict(),
  describe(opts, ctx) {
    const shape = describeTraining(opts, ctx);
    const data = ctx.input("data");
    checkFeatureRows(
      ctx,
      "targets",
      "data",
      `extract the targets from the same data node (data: ${data?.node})`,
    );
    const base = ctx.input("init");
    const mine = shape?.model;
    if (base?.model && mine) {
      const differs = base.model.inputShape.join() !== mine.inputShape.join() ||
        (base.model.params !== undefined && mine.params !== undefined &&
          base.model.params !== mine.params);
      if (differs) {
        throw new OptionError(
          "init",
          `"${base.node}" trains a different network (${count(base.model.params)} parameters for ${
            base.model.inputShape.join("×")
          } inputs) than this student (${count(mine.params)} for ${mine.inputShape.join("×")})`,
          {
            hint:
              "initialise from a node that trains the same model options on the same data shape",
          },
        );
      }
    }
    return shape;
  },
  async run(opts, ctx) {
    const data = datasetInput(ctx.inputs, "data");
    const seed = opts.seed ?? ctx.seed;
    const model = ctx.plugin(opts.model).build(opts.model.options, {
      inputShape: data.shape,
      numClasses: data.numClasses,
      seed,
    });
    if (opts.init) {
      const base = modelInput(ctx.inputs, "init");
      const from = base.net.getWeights();
      const to = model.net.getWeights();
      const same = from.length === to.length &&
        from.every((w, i) => w.shape.join() === to[i].shape.join());
      if (!same) {
        throw new KtError(
          `init: node "${opts.init}" has a different architecture than this student`,
          {
            hint: "initialise from a node that trained the same model options",
          },
        );
      }
      model.net.setWeights(from);
    }
    const targets = opts.targets ? featuresInput(ctx.inputs, "targets") : undefined;
    let term: LossTerm = crossEntropyTerm;
    if (opts.loss) {
      term = ctx.plugin(opts.loss).create(opts.loss.options, {
        seed,
        plugin: (s) => ctx.plugin(s),
      });
    }
    try {
      const history = await trainModel(model, data, {
        ...toTrainOptions(opts, seed, `student ${opts.loss?.use ?? "cross-entropy"}`),
        loss: term,
        targets,
        trainUpTo: opts.trainUpTo,
        onEpoch: (r) =>
          ctx.curve({ epoch: r.epoch, loss: r.loss, samplesPerSecond: r.samplesPerSecond }),
      });
      return { model, history };
    } finally {
      term.dispose?.();
      if (term.variables) tf.dispose(term.variables);
    }
  },
});
