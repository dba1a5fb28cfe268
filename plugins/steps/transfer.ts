/**
 * `transfer`: trains a student network with any loss (PKT, Hinton, hints, plain cross-entropy),
 * optionally against cached teacher targets and optionally initialised from another trained
 * model node (the paper's protocol starts the student from its cross-entropy baseline).
 * The trial seed feeds it unless `seed` is given. `evalEvery: N` with `evalQueries` evaluates the
 * student every N epochs and after the last (retrieval mAP and P@10 against `evalDatabase`,
 * default the training data, and the head's accuracy): the report's evaluation curves.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  checkFeatureRows,
  crossEntropyTerm,
  datasetInput,
  defineStep,
  describeTraining,
  EVAL_PHASE_PREFIX,
  evaluateAfter,
  evaluateSnapshots,
  featuresInput,
  KtError,
  type LossState,
  lossStateInput,
  type LossTerm,
  modelInput,
  OptionError,
  pluginSpec,
  readLossState,
  ref,
  sameLoss,
  snapshotWeights,
  toTrainOptions,
  trainingOptions,
  trainModel,
  type WeightSnapshot,
  z,
} from "../../mod.ts";

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
    evalEvery: z.number().int().min(1).optional().describe(
      "evaluate every N epochs and after the last (needs evalQueries): the report's curves",
    ),
    evalQueries: ref("dataset").optional().describe("query split of those evaluations (test)"),
    evalDatabase: ref("dataset").optional().describe(
      "database of those evaluations (default: data, without augmentation)",
    ),
    ...trainingOptions,
  }).strict(),
  describe(opts, ctx) {
    if (opts.evalEvery !== undefined && opts.evalQueries === undefined) {
      throw new OptionError(
        "evalEvery",
        "evaluating during training needs the queries to evaluate",
        { hint: "add evalQueries: <a dataset node>, e.g. evalQueries: test" },
      );
    }
    if (opts.evalEvery === undefined && opts.evalQueries !== undefined) {
      throw new OptionError("evalQueries", "is used only with evalEvery", {
        hint: "add evalEvery: N (epochs between evaluations) or remove evalQueries",
      });
    }
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
    // A student continued with the loss it was trained with gets that loss's state back
    // (embeddings, regressors, memory banks); another loss starts its own.
    const saved = opts.init ? lossStateInput(ctx.inputs, "init") : undefined;
    const lossState = saved && opts.loss && sameLoss(saved.loss, opts.loss) ? saved : undefined;
    let term: LossTerm = crossEntropyTerm;
    if (opts.loss) {
      term = ctx.plugin(opts.loss).create(opts.loss.options, {
        seed,
        plugin: (s) => ctx.plugin(s),
      });
    }
    const snapshots: WeightSnapshot[] = [];
    let history;
    let trained: LossState | undefined;
    try {
      history = await trainModel(model, data, {
        ...toTrainOptions(opts, seed, `student ${opts.loss?.use ?? "cross-entropy"}`),
        loss: term,
        targets,
        trainUpTo: opts.trainUpTo,
        lossState,
        onEpoch: (r) => {
          ctx.curve({ epoch: r.epoch, loss: r.loss, samplesPerSecond: r.samplesPerSecond });
          if (opts.evalEvery && evaluateAfter(r.epoch, opts.epochs, opts.evalEvery)) {
            snapshots.push({ epoch: r.epoch, weights: snapshotWeights(model) });
          }
        },
      });
      if (opts.loss) trained = await readLossState(term, opts.loss);
    } catch (err) {
      for (const s of snapshots) tf.dispose(s.weights);
      throw err;
    } finally {
      term.dispose?.();
      if (term.variables) tf.dispose(term.variables);
    }
    if (opts.evalEvery && opts.evalQueries) {
      const queries = datasetInput(ctx.inputs, "evalQueries");
      const database = opts.evalDatabase ? datasetInput(ctx.inputs, "evalDatabase") : data;
      await evaluateSnapshots(model, snapshots, queries, database, (epoch, metrics) => {
        for (const [name, value] of Object.entries(metrics)) {
          ctx.curve({ epoch, loss: value, samplesPerSecond: 0, phase: EVAL_PHASE_PREFIX + name });
        }
      });
    }
    return trained ? { model, history, lossState: trained } : { model, history };
  },
});
