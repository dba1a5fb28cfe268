/**
 * Shared pieces of the built-in steps: training options, optimiser/schedule parsing, and the
 * typed views of step inputs. Plugins import this (it is part of the plugin-author surface).
 * @module
 */
import { type Dataset, type Features, KtError, type TrainedModel, z } from "./api.ts";
import type { KtModel } from "./api.ts";
import { extractLayers } from "./model.ts";
import type { TrainOptions } from "./train.ts";

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
  seed: z.number().int().optional().describe("default: the trial seed"),
};

/** Parsed {@linkcode trainingOptions}. */
export type TrainingOptions = z.infer<z.ZodObject<typeof trainingOptions>>;

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

/** The features a step input holds, or a clear error. */
export function featuresInput(inputs: Record<string, unknown>, option: string): Features {
  const v = inputs[option] as Features | undefined;
  if (!v?.features?.values) throw new KtError(`option "${option}" must reference a features node`);
  return v;
}

/** Something that yields features for a dataset: a trained model or a teacher plugin node. */
export interface FeatureSource {
  /** Features of `layer`, optionally logits, and optionally more layers (for hint methods). */
  extract(data: Dataset, layer: string, withLogits: boolean, layers?: string[]): Promise<Features>;
}

/** A trained model as a feature source (inference mode, any layer, optional logits). */
export function modelSource(trained: TrainedModel): FeatureSource {
  return {
    extract(data: Dataset, layer: string, withLogits: boolean, layers: string[] = []) {
      // One forward pass yields the layer, the logits and any extra layers together.
      const names = [layer, ...(withLogits ? ["logits"] : []), ...layers];
      const [features, ...rest] = extractLayers(trained.model, data, names);
      const out: Features = { features };
      if (withLogits) out.logits = rest.shift();
      if (layers.length > 0) out.layers = Object.fromEntries(layers.map((l, i) => [l, rest[i]]));
      return Promise.resolve(out);
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
