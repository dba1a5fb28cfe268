/**
 * The plugin-author API, re-exported by `mod.ts` (which plugin files import, with the helpers the
 * built-in plugins use). A plugin is a plain object made by one of the `defineX` helpers: a name,
 * a zod schema for its options, and plain functions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { defineLoss, KtError, z } from "./api.ts";
 * const l2 = defineLoss({
 *   name: "l2",
 *   description: "mean squared distance between student and teacher features",
 *   options: z.object({}).strict(),
 *   create: () => ({
 *     needs: { teacher: true },
 *     compute: ({ student, teacher }) => {
 *       if (!teacher) throw new KtError("l2 needs teacher features", { hint: "set targets:" });
 *       return tf.losses.meanSquaredError(teacher, student) as tf.Scalar;
 *     },
 *   }),
 * });
 * assert.equal(l2.kind, "loss");
 * ```
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { Dataset } from "./data.ts";
import type { JobWork } from "./engine/job.ts";
import { FILE_META, PLUGIN_SPEC_META, REF_META, WEIGHTED_META } from "./schema_meta.ts";

export { z };
export type { Augmentation, Dataset, Normalization } from "./data.ts";
export { KtError, OptionError } from "./errors.ts";

/** The plugin kinds the registry knows. */
export type PluginKind =
  | "dataset"
  | "model"
  | "teacher"
  | "loss"
  | "metric"
  | "step"
  | "executor";

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
  /**
   * What a node of this plugin can stand in for when another node references it, besides its
   * kind (e.g. a training executor `provides: ["model"]`). See {@linkcode ref}.
   */
  provides?: string[];
}

/** Services the engine hands to plugins. */
export interface PluginContext {
  /** Directory for downloads and derived files that outlive a run (datasets, ...). */
  cacheDir: string;
  /** Seed of this node (derived from the trial seed). */
  seed: number;
  /** Log a line (progress output stays consistent with the engine's view). */
  log(message: string): void;
  /**
   * Directory that relative paths in options are relative to: the experiment file's directory
   * (default: the working directory). Use {@linkcode resolvePath}.
   */
  baseDir?: string;
}

/**
 * A path from an option, resolved against the experiment file's directory
 * ({@linkcode PluginContext.baseDir}).
 */
export function resolvePath(ctx: Pick<PluginContext, "baseDir">, path: string): string {
  return isAbsolute(path) ? path : resolve(ctx.baseDir ?? Deno.cwd(), path);
}

// ---------------------------------------------------------------- datasets

/** A dataset plugin loads one split into memory. */
export interface DatasetPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"dataset"`. */
  kind: "dataset";
  /** Loads the split into memory. */
  load(options: O, ctx: PluginContext): Promise<Dataset>;
  /**
   * What `load` will return — sample shape, number of samples, classes — found cheaply before
   * anything runs (known sizes, file headers), or `undefined` when it cannot be known. Throws
   * {@linkcode OptionError} for options that cannot work (a `limit` above the samples, a file
   * that is not a regular file or disagrees with its header). Used by `kt plan` and `sweep`.
   */
  describe?(options: O, ctx: PluginContext): Promise<DataShape | undefined>;
}

/**
 * Declares a dataset plugin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineDataset, z } from "./api.ts";
 * const stripes = defineDataset({
 *   name: "stripes",
 *   description: "n 2×2 grey images: class 0 dark, class 1 bright",
 *   options: z.object({ n: z.number().int().min(2).default(4) }).strict(),
 *   load: ({ n }) => {
 *     const y = Int32Array.from({ length: n }, (_, i) => i % 2);
 *     const x = Float32Array.from({ length: n * 4 }, (_, j) => y[Math.floor(j / 4)]);
 *     return Promise.resolve({ name: "stripes", x, y, shape: [2, 2, 1], size: n, numClasses: 2 });
 *   },
 * });
 * const data = await stripes.load(stripes.options.parse({}), {
 *   cacheDir: ".kt/cache",
 *   seed: 0,
 *   log: console.log,
 * });
 * assert.equal(data.size, 4);
 * assert.deepEqual([...data.y], [0, 1, 0, 1]);
 * ```
 */
export function defineDataset<O>(p: Omit<DatasetPlugin<O>, "kind">): DatasetPlugin<O> {
  return { kind: "dataset", ...p };
}

// ---------------------------------------------------------------- models

/** A built network: `net` maps NHWC input to logits; every layer is named. */
export interface KtModel {
  /** The network, input to logits, every layer named. */
  net: tfl.LayersModel;
  /** Name of the layer exposed for transfer (what `layer: representation` means). */
  representation: string;
}

/** What a model builder gets besides its options. */
export interface ModelContext {
  /** Sample shape `[height, width, channels]` (NHWC without the batch). */
  inputShape: [number, number, number];
  /** Number of classes: the width of the logits. */
  numClasses: number;
  /** Seed of the initial weights. */
  seed: number;
}

/** A model plugin builds a fresh, randomly initialised network. */
export interface ModelPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"model"`. */
  kind: "model";
  /** A fresh, randomly initialised network for this input. */
  build(options: O, ctx: ModelContext): KtModel;
  /**
   * The network's size for this input, computed from the options without building anything;
   * throws {@linkcode OptionError} when the options cannot work for the input (a kernel larger
   * than the image). Lets `kt plan` refuse what cannot fit in memory before training starts.
   */
  estimate?(options: O, ctx: ModelContext): ModelEstimate;
}

/** A network's size, estimated from its options (see {@linkcode ModelPlugin.estimate}). */
export interface ModelEstimate {
  /** Trainable parameters. */
  params: number;
  /** Values of every layer's output for one sample: what a batch holds in memory, per sample. */
  activations: number;
  /** The layer with the most parameters and the option that sets its size (e.g. `dense.0`). */
  largest?: { layer: string; option: string; params: number };
}

/**
 * Declares a model plugin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tfl from "@tensorflow/tfjs-layers";
 * import { defineModel, z } from "./api.ts";
 * const linear = defineModel({
 *   name: "linear",
 *   description: "a flatten, a dense representation and a softmax-free head",
 *   options: z.object({ units: z.number().int().min(1).default(16) }).strict(),
 *   build: ({ units }, { inputShape, numClasses }) => {
 *     const input = tfl.input({ shape: inputShape, name: "input" });
 *     const flat = tfl.layers.flatten({ name: "flatten" }).apply(input);
 *     const rep = tfl.layers.dense({ units, name: "rep" }).apply(flat);
 *     const logits = tfl.layers.dense({ units: numClasses, name: "logits" }).apply(rep);
 *     const net = tfl.model({ inputs: input, outputs: logits as tfl.SymbolicTensor });
 *     return { net, representation: "rep" };
 *   },
 *   estimate: ({ units }, { inputShape, numClasses }) => {
 *     const d = inputShape[0] * inputShape[1] * inputShape[2];
 *     return { params: (d + 1) * units + (units + 1) * numClasses, activations: units };
 *   },
 * });
 * const ctx = { inputShape: [28, 28, 1] as [number, number, number], numClasses: 10, seed: 0 };
 * const size = linear.estimate!({ units: 16 }, ctx);
 * assert.equal(size.params, 785 * 16 + 17 * 10);
 * ```
 */
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
  /** Number of classes (the logits' width). */
  numClasses: number;
  /** 0-based epoch, for schedules (e.g. multi-layer PKT weight decay). */
  epoch: number;
  /**
   * The dataset row of each sample of the batch (B), for terms that keep per-sample state across
   * batches (CRD's memory banks). Set by kt's trainer.
   */
  indices?: Int32Array;
  /**
   * The labels of every training sample, in dataset order (N): the dataset's size and classes,
   * for terms that sample from the whole training set (CRD's negatives). Set by kt's trainer.
   */
  datasetLabels?: Int32Array;
}

/** A ready-to-use loss term. */
export interface LossTerm {
  /** Scalar loss for one batch; called inside the gradient tape. */
  compute(inputs: LossInputs): tf.Scalar;
  /** Extra trainable variables (e.g. a learned projection); trained with the student. */
  variables?: tf.Variable[];
  /** What the term needs from the student and teacher beyond the defaults. */
  needs?: {
    teacher?: boolean;
    teacherLogits?: boolean;
    studentLayers?: string[];
    teacherLayers?: string[];
  };
  /**
   * Called once with the first batch, outside any gradient tape, before training reads
   * `variables`: terms whose variables depend on feature shapes (a learned projection, the
   * FitNets regressor) create them here. Terms also create them lazily on the first `compute`
   * when a trainer skips this call, but then `variables` is empty until that first step.
   */
  init?(inputs: LossInputs): void;
  /**
   * The term's state as named tensors (owned by the term), stored with the trained student so a
   * later node continuing from it with the same loss picks it up: learned parts and running state
   * that is not trained (memory banks). Default: the `variables`, named `variable0`, `variable1`, ….
   */
  state?(): Record<string, tf.Tensor>;
  /**
   * Puts back what {@linkcode LossTerm.state} returned (the tensors are the caller's; copy them);
   * called after `init`, before the first step. Throw when names or shapes do not fit.
   */
  restore?(state: Record<string, tf.Tensor>): void;
  /** Free resources (variables) when training ends. */
  dispose?(): void;
}

/** What a loss plugin's `create` gets besides its options. */
export interface LossContext {
  /** Seed for the term's random choices (projections, initialisation). */
  seed: number;
  /**
   * Resolves a validated inline loss (an option declared with `pluginSpec("loss")`) to its
   * plugin, for combinators such as `sum` that build child terms.
   */
  plugin?(spec: PluginSpec<"loss">): LossPlugin<unknown>;
}

/**
 * What a loss reads, as `kt plugins` lists it: the student's and teacher's `logits`, the
 * transferred `representation` (the teacher's features), `layers` named in its options, `labels`.
 */
export type LossReads = "logits" | "representation" | "layers" | "labels";

/** A loss plugin turns validated options into a {@linkcode LossTerm}. */
export interface LossPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"loss"`. */
  kind: "loss";
  /** The paper it implements, short: "Park et al., CVPR 2019". Listed by `kt plugins`. */
  paper?: string;
  /** What it reads (listed by `kt plugins`); the defaults are its options' defaults. */
  reads?: LossReads[];
  /** The term for these options (called once per training node). */
  create(options: O, ctx: LossContext): LossTerm;
}

/**
 * Declares a loss plugin. Terms compose: a `sum` weights them, `weightOption` and `scaled` (from
 * `mod.ts`) give a loss its own `weight`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { defineLoss, z } from "./api.ts";
 * const meanNorm = defineLoss({
 *   name: "mean-norm",
 *   description: "the mean L2 norm of the student's representation",
 *   options: z.object({}).strict(),
 *   create: () => ({ compute: ({ student }) => tf.mean(tf.norm(student, 2, 1)) as tf.Scalar }),
 * });
 * await tf.setBackend("cpu");
 * const term = meanNorm.create({}, { seed: 0 });
 * const student = tf.tensor2d([[3, 4], [0, 1]]);
 * const loss = term.compute({
 *   student,
 *   studentLogits: student,
 *   studentLayers: {},
 *   teacherLayers: {},
 *   labels: tf.tensor1d([0, 1], "int32"),
 *   numClasses: 2,
 *   epoch: 0,
 * });
 * assert.ok(Math.abs(loss.dataSync()[0] - 3) < 1e-6); // (5 + 1) / 2
 * tf.dispose([student, loss]);
 * ```
 */
export function defineLoss<O>(p: Omit<LossPlugin<O>, "kind">): LossPlugin<O> {
  return { kind: "loss", ...p };
}

// ---------------------------------------------------------------- metrics

/**
 * kt's one feature-matrix type: `size` rows of `dim` values, row-major (row `i` is
 * `values[i·dim .. (i+1)·dim)`), one row per sample of a dataset, in its order. Teachers and
 * features nodes yield it, the trainer reads targets as it, metrics take it.
 */
export interface FeatureTable {
  /** All rows, row-major. */
  values: Float32Array;
  /** Values per row. */
  dim: number;
  /** Number of rows. */
  size: number;
}

/** A feature matrix with the label of each of its rows. */
export interface LabelledFeatures {
  /** One row per sample. */
  features: FeatureTable;
  /** The label of each row. */
  labels: Int32Array;
}

/** Features and labels a metric evaluates (queries vs database, the paper's protocol). */
export interface MetricInputs {
  /** The query split: the evaluated model's features of each sample, with its label. */
  queries: LabelledFeatures;
  /** The database split the queries are ranked against, in the same form. */
  database: LabelledFeatures;
  /** Student logits on the queries, when available (for accuracy). */
  queryLogits?: FeatureTable;
}

/** A metric plugin computes named numbers. */
export interface MetricPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"metric"`. */
  kind: "metric";
  /** Named numbers for these inputs (each a column of the comparison table). */
  compute(options: O, inputs: MetricInputs): Promise<Record<string, number>>;
}

/**
 * Declares a metric plugin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineMetric, z } from "./api.ts";
 * const nearest = defineMetric({
 *   name: "nearest",
 *   description: "share of queries whose nearest database row has their label (1-d features)",
 *   options: z.object({}).strict(),
 *   compute: (_options, { queries, database }) => {
 *     const db = database.features.values;
 *     let hits = 0;
 *     queries.features.values.forEach((q, i) => {
 *       const best = db.reduce((b, v, j) => Math.abs(v - q) < Math.abs(db[b] - q) ? j : b, 0);
 *       if (database.labels[best] === queries.labels[i]) hits++;
 *     });
 *     return Promise.resolve({ nearest: hits / queries.features.size });
 *   },
 * });
 * const rows = (v: number[]) => ({ values: Float32Array.from(v), dim: 1, size: v.length });
 * const result = await nearest.compute({}, {
 *   queries: { features: rows([0.1, 0.9]), labels: Int32Array.from([0, 1]) },
 *   database: { features: rows([0, 1]), labels: Int32Array.from([0, 1]) },
 * });
 * assert.equal(result.nearest, 1);
 * ```
 */
export function defineMetric<O>(p: Omit<MetricPlugin<O>, "kind">): MetricPlugin<O> {
  return { kind: "metric", ...p };
}

// ---------------------------------------------------------------- teachers

/** A teacher yields feature vectors for every sample of a dataset. */
export interface TeacherPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"teacher"`. */
  kind: "teacher";
  /** Features (and optionally logits) for every sample of `data`, in order. */
  extract(
    options: O,
    data: Dataset,
    ctx: PluginContext,
  ): Promise<{ features: FeatureTable; logits?: FeatureTable }>;
  /**
   * What `extract` will yield (rows, values per row) as far as it is known before running (e.g.
   * from a file header), or `undefined`; throws {@linkcode OptionError} for options that cannot
   * work.
   */
  describe?(options: O, ctx: PluginContext): Promise<NodeShape | undefined>;
}

/**
 * Declares a teacher plugin: features for every sample of a dataset, computed without training
 * (a handcrafted descriptor, a file of precomputed features, a model from elsewhere).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineTeacher, z } from "./api.ts";
 * const brightness = defineTeacher({
 *   name: "brightness",
 *   description: "each image's mean pixel value, as a 1-d feature",
 *   options: z.object({}).strict(),
 *   extract: (_options, data) => {
 *     const per = data.x.length / data.size;
 *     const values = Float32Array.from({ length: data.size }, (_, i) =>
 *       data.x.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) / per);
 *     return Promise.resolve({ features: { values, dim: 1, size: data.size } });
 *   },
 * });
 * const data = {
 *   name: "two",
 *   x: Float32Array.from([0, 0, 1, 1]),
 *   y: Int32Array.from([0, 1]),
 *   shape: [1, 2, 1] as [number, number, number],
 *   size: 2,
 *   numClasses: 2,
 * };
 * const ctx = { cacheDir: ".kt/cache", seed: 0, log: console.log };
 * const { features } = await brightness.extract({}, data, ctx);
 * assert.deepEqual([...features.values], [0, 1]);
 * ```
 */
export function defineTeacher<O>(p: Omit<TeacherPlugin<O>, "kind">): TeacherPlugin<O> {
  return { kind: "teacher", ...p };
}

// ---------------------------------------------------------------- steps

/** What a step node produces; the engine caches each kind of output in its own format. */
export type StepOutput = "model" | "features" | "metrics";

/**
 * One point of a node's training curve: an epoch's mean loss and throughput. The report draws
 * the points of each phase as a line; an evaluation curve point (phase `eval:<metric>`) carries
 * the metric's value as its `loss`.
 */
export interface CurvePoint {
  /** 0-based epoch. */
  epoch: number;
  /** The epoch's mean training loss (or, for an evaluation point, the metric's value). */
  loss: number;
  /** Training throughput of the epoch. */
  samplesPerSecond: number;
  /** Training phase within the node (e.g. `ce` then `transfer`); omitted when there is one. */
  phase?: string;
}

/** Outputs of the nodes a step references, by option name, plus engine services. */
export interface StepContext extends PluginContext {
  /** Output of each referenced node, keyed by the option name that references it. */
  inputs: Record<string, unknown>;
  /** Resolves an inline plugin spec (e.g. `model: { use: cnn }`) to its plugin. */
  plugin<K extends PluginKind>(spec: PluginSpec<K>): Extract<Plugin, { kind: K }>;
  /** Records a per-epoch training curve point for the report. */
  curve(point: CurvePoint): void;
}

/** A trained network plus its training history, as a step producing `model` returns it. */
export interface TrainedModel {
  /** The trained network. */
  model: KtModel;
  /** One point per epoch (and phase). */
  history: CurvePoint[];
  /**
   * The loss term's state after training (CC/CRD embeddings, VID regressors, CRD memory banks),
   * when the term holds any: stored with the model and restored by a `transfer` node that starts
   * from this model (`init`) with the same loss.
   */
  lossState?: LossState;
}

/** One saved tensor: its shape and float32 values (row-major). */
export interface SavedTensor {
  /** Dimensions, outermost first. */
  shape: number[];
  /** All values, row-major. */
  values: Float32Array;
}

/** A loss term's state, host-side, as it is stored with a trained student. */
export interface LossState {
  /** The loss spec (`use` and its options) that produced the state; restored only into the same. */
  loss: unknown;
  /** The state's tensors by name (as {@linkcode LossTerm.state} named them). */
  tensors: Record<string, SavedTensor>;
}

/** Teacher features (and optional logits) aligned with a dataset, as `features` steps return. */
export interface Features {
  /** The representation layer's features, one row per sample. */
  features: FeatureTable;
  /** The logits, one row per sample, when extracted. */
  logits?: FeatureTable;
  /** Other layers extracted (for methods on intermediate layers), by name, flattened per sample. */
  layers?: Record<string, FeatureTable>;
}

/** Something that yields features for a dataset: a trained model or a teacher plugin node. */
export interface FeatureSource {
  /** Features of `layer`, optionally logits, and optionally more layers (for hint methods). */
  extract(data: Dataset, layer: string, withLogits: boolean, layers?: string[]): Promise<Features>;
}

/**
 * A step is an engine node of the graph: train a network, extract features, transfer, evaluate.
 * Its options reference other nodes with {@linkcode ref}; the engine passes their outputs in
 * `ctx.inputs` and caches what `run` returns according to `output`.
 */
export interface StepPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"step"`. */
  kind: "step";
  /** The kind of output (decides how it is cached). */
  output: StepOutput;
  /**
   * Whether the trial seed feeds this node (students: yes; a shared teacher: no). A top-level
   * `seed` option overrides it: `ctx.seed` is that option when given, else the trial seed
   * (seeded) or 0. The cache key holds the seed the node runs with, not whether `seed` was
   * written out, so `run` must depend on `ctx.seed` only, never on the option's presence.
   */
  seeded?: boolean;
  /**
   * Top-level options that only label the output for people and never change it (evaluate's
   * `reference`): left out of the cache key, so setting one keeps the cached results.
   */
  labelOptions?: readonly string[];
  /**
   * For a `metrics` step: whether the node measures a *reference* (the teacher, the plain
   * student) rather than the method a trial sweeps. A reference is its own row of the
   * comparison table, never marked best. Decided from the options and the graph alone, before
   * anything runs; `undefined` = the node measures the method.
   */
  reference?(options: O, graph: GraphView): ReferenceMark | undefined;
  /** Computes the node's output from its options and `ctx.inputs`. */
  run(options: O, ctx: StepContext): Promise<TrainedModel | Features | Record<string, number>>;
  /**
   * What `run` will produce as far as it is known before anything runs, from the shapes of the
   * nodes it references ({@linkcode DescribeContext.input}); throws {@linkcode OptionError} when
   * they cannot work together (queries shaped unlike the model's input, a model too large for
   * memory). `kt plan` and `sweep` call it for every node, inputs first.
   */
  describe?(options: O, ctx: DescribeContext): NodeShape | undefined;
}

// ---------------------------------------------------------------- checks before running

/** A dataset as far as it is known before loading it. */
export interface DataShape {
  /** Sample shape `[height, width, channels]`. */
  shape: [number, number, number];
  /** Number of samples (after `limit`). */
  size: number;
  /** Number of classes, when known. */
  numClasses?: number;
}

/** What a node will produce, as far as it is known before anything runs. */
export interface NodeShape {
  /** A dataset. */
  data?: DataShape;
  /** A trained network: the input shape it is built for, its classes and parameters. */
  model?: { inputShape: [number, number, number]; numClasses?: number; params?: number };
  /** Feature rows (teacher outputs): how many and how long. */
  features?: { size?: number; dim?: number };
}

/** What a step's {@linkcode StepPlugin.describe} is given. */
export interface DescribeContext {
  /** The node's name, for messages. */
  name: string;
  /**
   * The shape of the node that option `option` references, with that node's name; `undefined`
   * when the option references nothing or its output cannot be known before running.
   */
  input(option: string): (NodeShape & { node: string }) | undefined;
  /**
   * The estimate of the inline model in option `option` for `input` ({@linkcode
   * ModelPlugin.estimate}), `undefined` when its plugin cannot estimate; an
   * {@linkcode OptionError} it throws points inside `option`.
   */
  model(option: string, input: ModelContext): ModelEstimate | undefined;
  /** Bytes of memory training may use (this machine's, or what the backend can address). */
  memoryBytes: number;
}

/** What a step's {@linkcode StepPlugin.reference} sees of its trial's graph. */
export interface GraphView {
  /** The name of the node asking. */
  name: string;
  /** Every node of the trial by name: its plugin, kind and which option references which node. */
  nodes: Readonly<
    Record<
      string,
      { use: string; kind: PluginKind; refs: readonly { option: string; node: string }[] }
    >
  >;
}

/** A metrics node that measures a reference (see {@linkcode StepPlugin.reference}). */
export interface ReferenceMark {
  /** The reference's row label in the comparison table, e.g. `teacher`. */
  label: string;
  /**
   * Guessed from the graph rather than asked for in the options. The engine drops a guessed
   * mark when the node is not the same in every trial of a seed: it then depends on the swept
   * method and measures it.
   */
  inferred?: boolean;
}

/**
 * Declares a step plugin; it `provides` its output kind to references (e.g. `ref("model")`).
 * The options name the nodes it reads with {@linkcode ref}; `run` finds their outputs in
 * `ctx.inputs` (the `datasetInput`, `modelInput`, `featuresInput` helpers of `mod.ts` check them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineStep, ref, z } from "./api.ts";
 * import type { Dataset } from "./api.ts";
 * const balance = defineStep({
 *   name: "balance",
 *   description: "the share of each class in a dataset node, as metrics",
 *   output: "metrics",
 *   options: z.object({ data: ref("dataset") }).strict(),
 *   run: (_options, ctx) => {
 *     const data = ctx.inputs.data as Dataset;
 *     const counts: Record<string, number> = {};
 *     for (const y of data.y) counts[`class${y}`] = (counts[`class${y}`] ?? 0) + 1 / data.size;
 *     return Promise.resolve(counts);
 *   },
 * });
 * assert.deepEqual(balance.provides, ["metrics"]); // a ref("metrics") may name its nodes
 * ```
 */
export function defineStep<O>(p: Omit<StepPlugin<O>, "kind">): StepPlugin<O> {
  return { kind: "step", ...p, provides: p.provides ?? [p.output] };
}

// ---------------------------------------------------------------- executors

/** One unit of work an executor runs: computing one step node of one trial into the cache. */
export interface JobSpec {
  /** Cache key of the node's output. */
  key: string;
  /** Node name and trial label, for messages. */
  node: string;
  /** Trial id (a hash of its parameters). */
  trialId: string;
  /** Trial label for people, e.g. `transfer=pkt seed=0`. */
  label: string;
  /** Keys of the jobs that must finish first. */
  after: string[];
  /** The experiment file (absolute) and the directories of this run. */
  file: string;
  /** The cache directory the job writes its output into. */
  cacheDir: string;
  /** The run directory (results database, logs). */
  runDir: string;
  /** Hosts the job may reach (dataset downloads); empty = no network. */
  netHosts: string[];
  /**
   * Threads the job's training may use on the wasm backend (default 1): the sweep gives each
   * job cores ÷ parallel jobs. Results do not depend on it.
   */
  threads?: number;
  /**
   * What to compute, self-contained: the node, the nodes it reads with their cache keys, the
   * user plugin files to import. Set by the sweep; executors pass it on untouched (the worker
   * reads it instead of the experiment file).
   */
  work?: JobWork;
}

/** Events a running job reports back. */
export interface JobEvents {
  /** A point of the node's training curve. */
  curve(point: CurvePoint): void;
  /** A line of the job's log. */
  log(line: string): void;
}

/**
 * How a job ended. A failed job may say why in a way the sweep records: `diverged` (its training
 * loss exploded) or `interrupted` (it was stopped: Ctrl-C, a cancel, SIGTERM).
 */
export type JobResult = { ok: true } | {
  ok: false;
  reason: string;
  ending?: "diverged" | "interrupted";
};

/** The command that computes one job in a fresh process (`deno run ... main.ts worker`). */
export interface WorkerCommand {
  /** The program (the deno executable). */
  command: string;
  /** Its arguments. */
  args: string[];
  /** JSON the worker reads on stdin. */
  stdin: string;
}

/** What the engine gives an executor. */
export interface ExecutorEnv {
  /** Default parallelism (`--jobs`). */
  jobs: number;
  /** How to start a worker process for a job. */
  workerCommand(job: JobSpec): WorkerCommand;
  /** Computes a job inside this process (no isolation; for debugging and small runs). */
  runInProcess(job: JobSpec, events: JobEvents): Promise<JobResult>;
  /** Log a line (progress output stays consistent with the engine's). */
  log(line: string): void;
}

/** A running executor: runs jobs (concurrently up to `concurrency`). */
export interface Executor {
  /** Jobs run at once at most. */
  concurrency: number;
  /**
   * Whether jobs may be handed over while their inputs are still running (the executor orders
   * them itself, e.g. Slurm's `--dependency=afterok`). Default: only once inputs are done.
   */
  eager?: boolean;
  /** Runs one job to its end; resolves how it ended (never rejects for a failed job). */
  run(job: JobSpec, events: JobEvents): Promise<JobResult>;
  /** Stop everything submitted (Ctrl-C). */
  cancel?(): Promise<void>;
}

/** An executor plugin decides where jobs run (local worker processes, a Slurm cluster, ...). */
export interface ExecutorPlugin<O = unknown> extends PluginBase<O> {
  /** Always `"executor"`. */
  kind: "executor";
  /** An executor for these options. */
  create(options: O, env: ExecutorEnv): Executor;
}

/**
 * Declares an executor plugin: where a sweep's jobs run. `env` gives the command that computes a
 * job in a fresh process (`workerCommand`) and a way to compute it in this one (`runInProcess`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineExecutor, z } from "./api.ts";
 * const serial = defineExecutor({
 *   name: "serial",
 *   description: "one job at a time, in this process",
 *   options: z.object({}).strict(),
 *   create: (_options, env) => ({
 *     concurrency: 1,
 *     run: (job, events) => {
 *       env.log(`running ${job.node} (${job.label})`);
 *       return env.runInProcess(job, events);
 *     },
 *   }),
 * });
 * const executor = serial.create({}, {
 *   jobs: 4,
 *   workerCommand: (job) => ({ command: "deno", args: [], stdin: JSON.stringify(job) }),
 *   runInProcess: () => Promise.resolve({ ok: true }),
 *   log: () => {},
 * });
 * assert.equal(executor.concurrency, 1);
 * ```
 */
export function defineExecutor<O>(p: Omit<ExecutorPlugin<O>, "kind">): ExecutorPlugin<O> {
  return { kind: "executor", ...p };
}

// ---------------------------------------------------------------- graph references

/**
 * An option that names another node of the graph, e.g. `data: train`. `accepts` lists the
 * plugin kinds (or `provides` tags) the referenced node may have; none = any node. The value
 * stays the node's name; the engine hands the node's output to the plugin.
 *
 * @example
 * ```ts
 * import { ref, z } from "./api.ts";
 * const options = z.object({ data: ref("dataset"), model: ref("model", "teacher") }).strict();
 * ```
 */
export function ref(...accepts: string[]): z.ZodString {
  return z.string().meta({ [REF_META]: accepts });
}

/**
 * An option that names a file or directory the plugin reads (relative to the experiment file;
 * resolve it with {@linkcode resolvePath}). Its bytes become part of the node's cache key, so
 * rewriting the file at the same path recomputes the node and everything downstream.
 *
 * @example
 * ```ts
 * import { filePath, z } from "./api.ts";
 * const options = z.object({ file: filePath().describe("features (.npy)") }).strict();
 * ```
 */
export function filePath(): z.ZodString {
  return z.string().min(1).meta({ [FILE_META]: true });
}

/** An inline plugin after validation: its name, kind, version and options with defaults. */
export interface PluginSpec<K extends PluginKind = PluginKind> {
  /** Plugin name. */
  use: string;
  /** Plugin kind. */
  kind: K;
  /** Plugin version ("" when unset); part of cache keys. */
  version: string;
  /** Options with the plugin's defaults applied. */
  options: Record<string, unknown>;
  /**
   * The term's weight, for an inline plugin declared with `pluginSpec(kind, { weighted: true })`
   * (the terms of `sum`): taken from the term's `weight:` (default 1) and applied by the
   * combinator, so the term's own plugin needs no `weight` option. Absent otherwise.
   */
  weight?: number;
}

/**
 * An option holding an inline plugin of `kind`, e.g. `model: { use: cnn, filters: [8, 16] }` or
 * the shorthand `loss: pkt`. The validator checks the inner options against that plugin's schema
 * and the value becomes a {@linkcode PluginSpec} with defaults applied.
 *
 * With `{ weighted: true }` the value may carry a `weight:` (a finite number, default 1) that is
 * not the plugin's option but the holder's: it becomes {@linkcode PluginSpec.weight} (how `sum`
 * weights its terms, whatever options their plugins have).
 *
 * @example
 * ```ts
 * import { pluginSpec, z } from "./api.ts";
 * const options = z.object({ loss: pluginSpec("loss"), epochs: z.number().int().min(1) }).strict();
 * const terms = z.array(pluginSpec("loss", { weighted: true })); // [{ use: pkt, weight: 2 }]
 * ```
 */
export function pluginSpec<K extends PluginKind>(
  kind: K,
  how: { weighted?: boolean } = {},
): z.ZodType<PluginSpec<K>, string | { use: string; [option: string]: unknown }> {
  const weighted = how.weighted === true;
  return z
    .union([z.string(), z.looseObject({ use: z.string() })])
    .transform((v): PluginSpec<K> => {
      const base = { kind, version: "", ...(weighted ? { weight: 1 } : {}) };
      if (typeof v === "string") return { use: v, options: {}, ...base };
      const { use, ...options } = v;
      if (!weighted) return { use, options, ...base };
      const { weight, ...rest } = options;
      return { use, options: rest, ...base, weight: typeof weight === "number" ? weight : 1 };
    })
    .meta({ [PLUGIN_SPEC_META]: kind, ...(weighted ? { [WEIGHTED_META]: true } : {}) });
}

/** Any plugin. */
export type Plugin =
  | DatasetPlugin<unknown>
  | ModelPlugin<unknown>
  | LossPlugin<unknown>
  | MetricPlugin<unknown>
  | TeacherPlugin<unknown>
  | StepPlugin<unknown>
  | ExecutorPlugin<unknown>;

/** Every plugin kind, in the order `kt plugins` lists them. */
export const PLUGIN_KINDS: readonly PluginKind[] = [
  "dataset",
  "model",
  "teacher",
  "loss",
  "metric",
  "step",
  "executor",
];
