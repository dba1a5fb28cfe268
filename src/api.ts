/**
 * The plugin-author API: everything a plugin file imports. A plugin is a plain object made by one
 * of the `defineX` helpers: a name, a zod schema for its options, and plain functions.
 *
 * ```ts
 * import { defineLoss, z } from "../../src/api.ts";
 * export default defineLoss({
 *   name: "l2",
 *   description: "mean squared distance between student and teacher features",
 *   options: z.object({}).strict(),
 *   create: () => ({ compute: ({ student, teacher }) => tf.losses.meanSquaredError(teacher!, student) }),
 * });
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { z } from "zod";
import type { Dataset } from "./data.ts";

export { z };
export type { Augmentation, Dataset, Normalization } from "./data.ts";
export { KtError } from "./errors.ts";

/** The plugin kinds the registry knows. */
export type PluginKind = "dataset" | "model" | "teacher" | "loss" | "metric" | "executor";

/** What every plugin has. */
export interface PluginBase<O> {
  /** The name YAML refers to with `use:`. */
  name: string;
  /** One line for `kt plugins`. */
  description: string;
  /** Bump when outputs change for the same options: it is part of every cache key. */
  version?: string;
  /** Option schema; unknown keys should be rejected (`.strict()`). */
  options: z.ZodType<O>;
}

/** Services the engine hands to plugins. */
export interface PluginContext {
  /** Directory for downloads and derived files that outlive a run (datasets, ...). */
  cacheDir: string;
  /** Seed of this node (derived from the trial seed). */
  seed: number;
  /** Log a line (progress output stays consistent with the engine's view). */
  log(message: string): void;
}

// ---------------------------------------------------------------- datasets

/** A dataset plugin loads one split into memory. */
export interface DatasetPlugin<O = unknown> extends PluginBase<O> {
  kind: "dataset";
  load(options: O, ctx: PluginContext): Promise<Dataset>;
}

/** Declares a dataset plugin. */
export function defineDataset<O>(p: Omit<DatasetPlugin<O>, "kind">): DatasetPlugin<O> {
  return { kind: "dataset", ...p };
}

// ---------------------------------------------------------------- models

/** A built network: `net` maps NHWC input to logits; every layer is named. */
export interface KtModel {
  net: tfl.LayersModel;
  /** Name of the layer exposed for transfer (what `layer: representation` means). */
  representation: string;
}

/** What a model builder gets besides its options. */
export interface ModelContext {
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
}

/** A model plugin builds a fresh, randomly initialised network. */
export interface ModelPlugin<O = unknown> extends PluginBase<O> {
  kind: "model";
  build(options: O, ctx: ModelContext): KtModel;
}

/** Declares a model plugin. */
export function defineModel<O>(p: Omit<ModelPlugin<O>, "kind">): ModelPlugin<O> {
  return { kind: "model", ...p };
}

// ---------------------------------------------------------------- losses

/** Tensors of one mini-batch handed to a loss term. */
export interface LossInputs {
  /** Student representation-layer output, B×ds. */
  student: tf.Tensor2D;
  /** Student logits, B×classes. */
  studentLogits: tf.Tensor2D;
  /** Teacher features for this batch (cached targets), B×dt, when the node has targets. */
  teacher?: tf.Tensor2D;
  /** Teacher logits for this batch when the targets provide them. */
  teacherLogits?: tf.Tensor2D;
  /** Other student layers the term asked for in `needs.studentLayers`, by name. */
  studentLayers: Record<string, tf.Tensor>;
  /** Other teacher targets the term asked for in `needs.teacherLayers`, by name. */
  teacherLayers: Record<string, tf.Tensor2D>;
  /** Integer labels, B. */
  labels: tf.Tensor1D;
  numClasses: number;
  /** 0-based epoch, for schedules (e.g. multi-layer PKT weight decay). */
  epoch: number;
}

/** A ready-to-use loss term. */
export interface LossTerm {
  /** Scalar loss for one batch; called inside the gradient tape. */
  compute(inputs: LossInputs): tf.Scalar;
  /** Extra trainable variables (e.g. a learned projection); trained with the student. */
  variables?: tf.Variable[];
  /** What the term needs from the student and teacher beyond the defaults. */
  needs?: { teacher?: boolean; teacherLogits?: boolean; studentLayers?: string[]; teacherLayers?: string[] };
  /** Free resources (variables) when training ends. */
  dispose?(): void;
}

/** A loss plugin turns validated options into a {@linkcode LossTerm}. */
export interface LossPlugin<O = unknown> extends PluginBase<O> {
  kind: "loss";
  create(options: O, ctx: { seed: number }): LossTerm;
}

/** Declares a loss plugin. */
export function defineLoss<O>(p: Omit<LossPlugin<O>, "kind">): LossPlugin<O> {
  return { kind: "loss", ...p };
}

// ---------------------------------------------------------------- metrics

/** Features and labels a metric evaluates (queries vs database, the paper's protocol). */
export interface MetricInputs {
  queries: { features: Float32Array; dim: number; labels: Int32Array };
  database: { features: Float32Array; dim: number; labels: Int32Array };
  /** Student logits on the queries, when available (for accuracy). */
  queryLogits?: { values: Float32Array; dim: number };
}

/** A metric plugin computes named numbers. */
export interface MetricPlugin<O = unknown> extends PluginBase<O> {
  kind: "metric";
  compute(options: O, inputs: MetricInputs): Promise<Record<string, number>>;
}

/** Declares a metric plugin. */
export function defineMetric<O>(p: Omit<MetricPlugin<O>, "kind">): MetricPlugin<O> {
  return { kind: "metric", ...p };
}

// ---------------------------------------------------------------- teachers

/** Per-sample teacher outputs aligned with a dataset: one row per sample. */
export interface FeatureTable {
  values: Float32Array;
  dim: number;
  size: number;
}

/** A teacher yields feature vectors for every sample of a dataset. */
export interface TeacherPlugin<O = unknown> extends PluginBase<O> {
  kind: "teacher";
  /** Features (and optionally logits) for every sample of `data`, in order. */
  extract(
    options: O,
    data: Dataset,
    ctx: PluginContext,
  ): Promise<{ features: FeatureTable; logits?: FeatureTable }>;
}

/** Declares a teacher plugin. */
export function defineTeacher<O>(p: Omit<TeacherPlugin<O>, "kind">): TeacherPlugin<O> {
  return { kind: "teacher", ...p };
}

/** Any plugin. */
export type Plugin =
  | DatasetPlugin<unknown>
  | ModelPlugin<unknown>
  | LossPlugin<unknown>
  | MetricPlugin<unknown>
  | TeacherPlugin<unknown>;
