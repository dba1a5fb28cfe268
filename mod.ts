/**
 * kt — declarative knowledge-transfer experiments (PKT, Hinton KD, FitNets, and RKD, SP, AT, NST,
 * CC, VID, CRD, DKD, DIST as the reference libraries implement them) on TensorFlow.js.
 *
 * This module is the package face: the plugin-author API (`defineLoss`, `defineMetric`, ...,
 * `z`, `ref`, `pluginSpec`), the knowledge-transfer losses and evaluation metrics as pure
 * functions, and the engine pieces (backends, training, experiments, sweeps, cache, results).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pktLoss, useBackend } from "./mod.ts";
 * await useBackend("cpu");
 * const s = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
 * const loss = pktLoss(s, s); // identical similarity distributions → 0
 * console.assert(Math.abs(loss.dataSync()[0]) < 1e-6);
 * ```
 * @module
 */

// The plugin-author API.
export * from "./src/api.ts";

// Knowledge-transfer losses, evaluation metrics, handcrafted teachers.
export * from "./src/losses/mod.ts";
export * from "./src/metrics/mod.ts";
export { hogFeatures, type HogOptions } from "./src/teachers/hog.ts";

// Backends, data, models, training.
export {
  type BackendChoice,
  type BackendName,
  BACKENDS,
  batchNormalization,
  type BatchNormArgs,
  conv2d,
  type Conv2DArgs,
  type GradientList,
  installCommand,
  KtAdamOptimizer,
  KtBatchNormalization,
  KtConv2D,
  useBackend,
} from "./src/backend/mod.ts";
export {
  fromBytes,
  gatherBatch,
  limitDataset,
  normalize,
  sampleSize,
  stratifiedIndices,
  subset,
} from "./src/data.ts";
export { createRng, permutation, type Rng } from "./src/rng.ts";
export {
  extractFeatures,
  extractLayers,
  layerNames,
  loadModel,
  modelFromFiles,
  modelToFiles,
  multiOutput,
  predictLogits,
  resolveLayerName,
  saveModel,
  seededInitializers,
} from "./src/model.ts";
export {
  crossEntropyTerm,
  type EpochRecord,
  type OptimizerOptions,
  scheduledLr,
  type StepSchedule,
  type Targets,
  trainModel,
  type TrainOptions,
} from "./src/train.ts";
export {
  datasetInput,
  featuresInput,
  featureSourceInput,
  modelInput,
  trainingOptions,
} from "./src/steps.ts";

// Experiments, the engine, cache and results.
export { createRegistry, loadPluginFile, loadUserPlugins, type Registry } from "./src/registry.ts";
export {
  ConfigError,
  type Experiment,
  type LoadedExperiment,
  loadExperiment,
  parseExperiment,
  type ResolvedGraph,
  type ResolvedNode,
  type Trial,
} from "./src/config/mod.ts";
export {
  runSweep,
  type SweepOptions,
  type SweepReport,
  type TrialOutcome,
} from "./src/engine/sweep.ts";
export { type Artifact, type Cache, cacheKey, openCache } from "./src/cache.ts";
export { canonicalJson } from "./src/canonical.ts";
export { openResults, ResultsDb } from "./src/results.ts";
export { type ComparisonTable, comparisonTable, meanStd } from "./src/table.ts";
export { formatTable, roundToStd, type TableFormat } from "./src/table_format.ts";
export { type PairedTTest, pairedTTest, studentTTwoSided } from "./src/stats.ts";
export { compareRuns, type CompareSource } from "./src/compare.ts";
