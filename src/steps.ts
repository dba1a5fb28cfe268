/**
 * Shared pieces of the built-in steps: training options, optimiser/schedule parsing, and the
 * typed views of step inputs. Plugins import this (it is part of the plugin-author surface).
 * @module
 */
import {
  type Dataset,
  type DataShape,
  type DescribeContext,
  type Features,
  type FeatureSource,
  KtError,
  type ModelEstimate,
  type NodeShape,
  OptionError,
  type PluginSpec,
  type TrainedModel,
  z,
} from "./api.ts";
import type { KtModel } from "./api.ts";
import { formatBytes, formatCount } from "./memory.ts";
import { extractLayers } from "./model.ts";
import { DIVERGENCE_FACTOR, type StepSchedule, type TrainOptions } from "./train.ts";

/** Options every training step (teacher training, transfer) accepts. */
export const trainingOptions = {
  epochs: z.number().int().min(1).default(5),
  batchSize: z.number().int().min(1).default(128),
  optimizer: z.enum(["adam", "sgd"]).default("adam"),
  lr: z.number().positive().default(1e-3),
  momentum: z.number().min(0).max(1).default(0.9).describe("SGD momentum"),
  beta1: z.number().min(0).lt(1).default(0.9).describe("Adam β1"),
  beta2: z.number().min(0).lt(1).default(0.999).describe("Adam β2"),
  epsilon: z.number().positive().default(1e-8).describe(
    "Adam ε (PyTorch's default 1e-8; tfjs's own is 1e-7)",
  ),
  weightDecay: z.number().min(0).default(0),
  schedule: z.object({
    gamma: z.number().positive(),
    stepSize: z.number().int().positive().optional(),
    milestones: z.array(z.number().int().min(0)).optional(),
  }).strict().optional().describe(
    "step LR schedule: lr·gamma every stepSize epochs / at milestones",
  ),
  seed: z.number().int().optional().describe(
    "default: the trial seed (transfer), 0 (trained-network, a shared teacher)",
  ),
  divergence: z.union([
    z.literal(false),
    z.object({ factor: z.number().gt(1).default(DIVERGENCE_FACTOR) }).strict(),
  ]).default({ factor: DIVERGENCE_FACTOR }).describe(
    "stop as diverged when a step's loss exceeds factor × its lowest so far (NaN/Inf always " +
      "do); false: only NaN/Inf",
  ),
};

/** Parsed {@linkcode trainingOptions} (a step's options include them). */
export interface TrainingOptions {
  /** Passes over the data. */
  epochs: number;
  /** Samples per step. */
  batchSize: number;
  /** The optimiser. */
  optimizer: "adam" | "sgd";
  /** Learning rate (before the schedule). */
  lr: number;
  /** SGD momentum. */
  momentum: number;
  /** Adam β1. */
  beta1: number;
  /** Adam β2. */
  beta2: number;
  /** Adam ε. */
  epsilon: number;
  /** L2 weight decay. */
  weightDecay: number;
  /** Step learning-rate schedule. */
  schedule?: StepSchedule;
  /** Seed of batch order and initialisation (default: the trial seed). */
  seed?: number;
  /** When a run counts as diverged: `false` only on NaN/Inf. */
  divergence: false | { factor: number };
}

// The interface is the schema's output, field for field (a compile error otherwise).
const _sameFields: Equal<TrainingOptions, z.infer<z.ZodObject<typeof trainingOptions>>> = true;
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Maps parsed training options to {@linkcode TrainOptions} (without loss/targets). */
export function toTrainOptions(o: TrainingOptions, seed: number, label: string): TrainOptions {
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: {
      type: o.optimizer,
      lr: o.lr,
      momentum: o.optimizer === "sgd" ? o.momentum : undefined,
      ...(o.optimizer === "adam" ? { beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon } : {}),
      weightDecay: o.weightDecay,
    },
    schedule: o.schedule,
    seed,
    progress: label,
    divergence: o.divergence,
  };
}

/** The dataset a step input holds, or a clear error. */
export function datasetInput(inputs: Record<string, unknown>, option: string): Dataset {
  const v = inputs[option] as Dataset | undefined;
  if (!v || !(v.x instanceof Float32Array)) {
    throw new KtError(`option "${option}" must reference a dataset node`);
  }
  return v;
}

/** The trained model a step input holds, or a clear error. */
export function modelInput(inputs: Record<string, unknown>, option: string): KtModel {
  const v = inputs[option] as TrainedModel | undefined;
  if (!v?.model?.net) {
    throw new KtError(`option "${option}" must reference a node that trains a model`);
  }
  return v.model;
}

/** The loss-term state stored with a model input (see {@linkcode TrainedModel.lossState}). */
export function lossStateInput(
  inputs: Record<string, unknown>,
  option: string,
): TrainedModel["lossState"] {
  return (inputs[option] as TrainedModel | undefined)?.lossState;
}

/** The features a step input holds, or a clear error. */
export function featuresInput(inputs: Record<string, unknown>, option: string): Features {
  const v = inputs[option] as Features | undefined;
  if (!v?.features?.values) throw new KtError(`option "${option}" must reference a features node`);
  return v;
}

/** A trained model as a feature source (inference mode, any layer, optional logits). */
export function modelSource(trained: TrainedModel): FeatureSource {
  return {
    async extract(data: Dataset, layer: string, withLogits: boolean, layers: string[] = []) {
      // One forward pass yields the layer, the logits and any extra layers together.
      const names = [layer, ...(withLogits ? ["logits"] : []), ...layers];
      const [features, ...rest] = await extractLayers(trained.model, data, names);
      const out: Features = { features };
      if (withLogits) out.logits = rest.shift();
      if (layers.length > 0) out.layers = Object.fromEntries(layers.map((l, i) => [l, rest[i]]));
      return out;
    },
  };
}

/** The input as a feature source: a teacher node's extractor, or a trained model node's model. */
export function featureSourceInput(inputs: Record<string, unknown>, option: string): FeatureSource {
  const v = inputs[option] as Partial<FeatureSource & TrainedModel> | undefined;
  if (v && typeof v.extract === "function") return v as FeatureSource;
  if (v?.model?.net) return modelSource(v as TrainedModel);
  throw new KtError(`option "${option}" must reference a teacher or a node that trains a model`);
}

// ---------------------------------------------------------------- checks before running

/** The most samples a training run may go through (epochs × samples): months at 5,000/s. */
export const MAX_SAMPLE_STEPS = 1e11;

/** Bytes of memory training a model takes, roughly: weights, gradients and Adam's two moments, plus a batch's activations and their gradients (float32). */
export function trainingBytes(estimate: ModelEstimate, batch: number): number {
  return 4 * (4 * estimate.params + 2 * estimate.activations * batch);
}

/**
 * Throws {@linkcode OptionError} when training a model of `estimate` on batches of `batch` needs
 * more than `memoryBytes`, pointing at the largest layer's option (inside `modelOption`) or at
 * `batchSize`, whichever takes most of it.
 */
export function checkTrainingMemory(
  estimate: ModelEstimate,
  batch: number,
  memoryBytes: number,
  modelOption = "model",
): void {
  const bytes = trainingBytes(estimate, batch);
  if (bytes <= memoryBytes) return;
  const needs = `about ${formatBytes(bytes)} of memory, more than the ${
    formatBytes(memoryBytes)
  } available`;
  const activations = 8 * estimate.activations * batch;
  if (activations > bytes / 2) {
    throw new OptionError(
      "batchSize",
      `a batch of ${batch} samples through this model (${
        formatCount(estimate.activations)
      } values each) needs ${needs}`,
      { hint: "lower batchSize, or make the model's layers smaller" },
    );
  }
  const largest = estimate.largest;
  const what = largest && largest.params < estimate.params
    ? `${largest.layer} has ${formatCount(largest.params)} parameters; training the model (${
      formatCount(estimate.params)
    } in all) needs ${needs}`
    : `training the model's ${formatCount(estimate.params)} parameters needs ${needs}`;
  throw new OptionError(largest ? `${modelOption}.${largest.option}` : modelOption, what, {
    hint: "make the model smaller",
  });
}

/** `28×28×1`. */
function shapeText(shape: readonly number[]): string {
  return shape.join("×");
}

/**
 * Checks the data of option `dataOption` against the input shape the model of option
 * `modelOption` (a trained model node) was built for; throws {@linkcode OptionError} at
 * `dataOption` when they differ.
 */
export function checkModelInput(
  ctx: DescribeContext,
  modelOption: string,
  dataOption: string,
): void {
  const model = ctx.input(modelOption);
  const data = ctx.input(dataOption);
  if (!model?.model || !data?.data) return;
  const want = model.model.inputShape;
  const got = data.data.shape;
  if (want.join() !== got.join()) {
    throw new OptionError(
      dataOption,
      `the samples of "${data.node}" are ${
        shapeText(got)
      }, but model "${model.node}" was built for ${shapeText(want)} inputs`,
      {
        hint:
          `give "${dataOption}" a node of the data "${model.node}" was trained on, or shape it alike`,
      },
    );
  }
}

/**
 * Checks that the feature rows of the node at `featuresOption` are as many as the samples of the
 * dataset at `dataOption`; throws {@linkcode OptionError} at `featuresOption` with `hint`.
 */
export function checkFeatureRows(
  ctx: DescribeContext,
  featuresOption: string,
  dataOption: string,
  hint: string,
): void {
  const features = ctx.input(featuresOption);
  const data = ctx.input(dataOption);
  const rows = features?.features?.size;
  if (!data?.data || rows === undefined || rows === data.data.size) return;
  throw new OptionError(
    featuresOption,
    `"${
      features!.node
    }" holds ${rows} rows of features, but "${data.node}" has ${data.data.size} samples`,
    { hint },
  );
}

/** Epochs against the samples there are (options of a training step). */
function checkTrainingSizes(
  opts: { epochs: number },
  data: DataShape,
): void {
  if (opts.epochs * data.size > MAX_SAMPLE_STEPS) {
    throw new OptionError(
      "epochs",
      `epochs ${opts.epochs} over ${data.size} samples is ${
        formatCount(opts.epochs * data.size)
      } training samples, more than ${formatCount(MAX_SAMPLE_STEPS)} (months of computing)`,
      { hint: "use fewer epochs" },
    );
  }
}

/**
 * `describe` of a step that trains the inline model of option `model` on the dataset of option
 * `data` (the built-in `trained-network` and `transfer`): epochs against the samples, the
 * model's options against the input, the model and a batch (at most the samples) against
 * memory. Returns the trained model's shape.
 */
export function describeTraining(
  opts: { epochs: number; batchSize: number; model: PluginSpec<"model"> },
  ctx: DescribeContext,
): NodeShape | undefined {
  const input = ctx.input("data");
  const data = input?.data;
  if (!data) return undefined;
  checkTrainingSizes(opts, data);
  const estimate = ctx.model("model", {
    inputShape: data.shape,
    numClasses: data.numClasses ?? 10,
    seed: 0,
  });
  if (estimate) checkTrainingMemory(estimate, Math.min(opts.batchSize, data.size), ctx.memoryBytes);
  return {
    model: { inputShape: data.shape, numClasses: data.numClasses, params: estimate?.params },
  };
}
