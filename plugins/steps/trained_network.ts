/**
 * `trained-network` step: any model plugin trained with cross-entropy on a dataset node — the usual
 * teacher. Trained once per distinct configuration and cached; its seed is fixed (default 0) rather than
 * following the trial seed, so a sweep over student seeds shares one teacher.
 * @module
 */
import {
  datasetInput,
  defineStep,
  describeTraining,
  pluginSpec,
  ref,
  toTrainOptions,
  trainingOptions,
  trainModel,
  z,
} from "../../mod.ts";

export default defineStep({
  name: "trained-network",
  description: "a teacher network (any model plugin) trained with cross-entropy",
  version: "2",
  output: "model",
  seeded: false,
  options: z.object({
    data: ref("dataset").describe("training data node"),
    model: pluginSpec("model"),
    ...trainingOptions,
  }).strict(),
  describe: (opts, ctx) => describeTraining(opts, ctx),
  async run(opts, ctx) {
    const data = datasetInput(ctx.inputs, "data");
    const seed = opts.seed ?? 0;
    const model = ctx.plugin(opts.model).build(opts.model.options, {
      inputShape: data.shape,
      numClasses: data.numClasses,
      seed,
    });
    const history = await trainModel(model, data, {
      ...toTrainOptions(opts, seed, `teacher ${opts.model.use}`),
      onEpoch: (r) =>
        ctx.curve({ epoch: r.epoch, loss: r.loss, samplesPerSecond: r.samplesPerSecond }),
    });
    return { model, history };
  },
});
