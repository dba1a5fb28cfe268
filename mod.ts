/**
 * kt — declarative knowledge-transfer experiments (PKT, Hinton KD, FitNets, and RKD, SP, AT, NST,
 * CC, VID, CRD, DKD, DIST as the reference libraries implement them) on TensorFlow.js.
 *
 * This module is the package face, and the one module a plugin imports — kt's built-in plugins
 * included, so a plugin of your own can do whatever a built-in does:
 *
 * - the plugin-author API: `defineDataset`, `defineModel`, `defineTeacher`, `defineLoss`,
 *   `defineMetric`, `defineStep`, `defineExecutor`, the plugin types, `z` (zod), `ref`,
 *   `pluginSpec`, `filePath`, `KtError` and `OptionError`;
 * - the helpers the built-in plugins use: loss terms (`weightOption`, `scaled`,
 *   `teacherFeatures`, ...), steps (`datasetInput`, `modelInput`, `trainingOptions`,
 *   `toTrainOptions`, ...), models (`conv2d`, `batchNormalization`, `seededInitializers`), data
 *   (`cachedDownload`, the npy/IDX/tar readers, `createRng`);
 * - the knowledge-transfer losses and evaluation metrics as pure functions;
 * - running things: backends (`useBackend`), training (`trainModel`), experiments
 *   (`loadExperiment`), sweeps (`runSweep`, with a complete example), results and comparison
 *   tables.
 *
 * The built-in plugin set is the package's second export, `./plugins` (`builtinPlugins`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { pktLoss, useBackend } from "./mod.ts";
 * await useBackend("cpu");
 * const s = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
 * const loss = pktLoss(s, s); // identical similarity distributions → 0
 * assert.ok(Math.abs(loss.dataSync()[0]) < 1e-6);
 * ```
 * @module
 */

// The plugin-author API: define* helpers, plugin types, z, ref, pluginSpec, filePath, errors.
export * from "./src/api.ts";

// Helpers the built-in plugins use. Loss terms:
export {
  disposeVariables,
  flatRows,
  scaled,
  studentLayer,
  teacherFeatures,
  teacherLayer,
  teacherLogits,
  weightOption,
} from "./src/loss_terms.ts";
export { assignState, readLossState, restoreTerm, sameLoss, termState } from "./src/loss_state.ts";
export { checkMap } from "./src/losses/tensor.ts";
// Steps:
export {
  checkFeatureRows,
  checkModelInput,
  datasetInput,
  describeTraining,
  featuresInput,
  featureSourceInput,
  lossStateInput,
  modelInput,
  toTrainOptions,
  type TrainingOptions,
  trainingOptions,
} from "./src/steps.ts";
export {
  EVAL_PHASE_PREFIX,
  evaluateAfter,
  evaluateSnapshots,
  snapshotWeights,
  type WeightSnapshot,
} from "./src/eval_curve.ts";
// Models:
export {
  extractFeatures,
  extractLayers,
  INIT_SCHEMES,
  type Initializer,
  type Initializers,
  type InitScheme,
  layerNames,
  loadModel,
  type ModelFiles,
  modelFromFiles,
  modelToFiles,
  multiOutput,
  predictLogits,
  resolveLayerName,
  saveModel,
  seededInitializers,
} from "./src/model.ts";
export {
  batchMatMul,
  batchNormalization,
  type BatchNormArgs,
  conv2d,
  type Conv2DArgs,
} from "./src/backend/mod.ts";
// Data and files:
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
export { cachedDownload, type Checksums, type DownloadOptions, gunzip } from "./src/download.ts";
export {
  type IdxData,
  type IdxFile,
  type IdxHeader,
  type IdxType,
  readIdx,
  readIdxHeader,
} from "./src/io/idx.ts";
export {
  type NpyArray,
  type NpyData,
  type NpyDtype,
  type NpyHeader,
  readNpy,
  readNpyHeader,
  writeNpy,
} from "./src/io/npy.ts";
export { readTar, type TarEntry, type TarOptions } from "./src/io/tar.ts";
export {
  exists,
  inputFileSize,
  readInputFile,
  removeQuietly,
  tempPathFor,
  writeFileAtomic,
} from "./src/io/files.ts";
// Executors:
export { readWorkerStream } from "./src/engine/worker_protocol.ts";

// Knowledge-transfer losses, evaluation metrics, handcrafted teachers, as pure functions.
export * from "./src/losses/mod.ts";
export * from "./src/metrics/mod.ts";
export { hogFeatures, type HogLayout, hogLayout, type HogOptions } from "./src/teachers/hog.ts";

// Running things: backends, training, experiments, sweeps, results.
export { type BackendName, BACKENDS } from "./src/backend/names.ts";
export {
  type BackendChoice,
  type BackendOptions,
  installCommand,
  useBackend,
  type WebGpuAdapterSummary,
} from "./src/backend/select.ts";
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
  createRegistry,
  loadPluginFile,
  loadUserPlugins,
  type PluginOfKind,
  type Registry,
} from "./src/registry.ts";
export {
  ConfigError,
  type Distribution,
  type Experiment,
  type ExperimentOptions,
  type GridAxis,
  type LoadedExperiment,
  loadExperiment,
  type Loc,
  type NodeRef,
  parseExperiment,
  type Problem,
  type RandomAxis,
  type ResolvedGraph,
  type ResolvedNode,
  type SourceValue,
  type SweepAxis,
  type SweepSpec,
  type Trial,
} from "./src/config/mod.ts";
export type { SourceEntry, SourceMap, SourceScalar, SourceSeq } from "./src/config/parse.ts";
export {
  runSweep,
  type SweepOptions,
  type SweepReport,
  type TrialOutcome,
} from "./src/engine/sweep.ts";
export type { TrialEnd } from "./src/engine/schedule.ts";
export type { JobWork, WorkNode } from "./src/engine/job.ts";
export type { Provenance } from "./src/provenance.ts";
export type { HashedSource } from "./src/source_hash.ts";
export type { JsonValue } from "./src/canonical.ts";
export type { Holder } from "./src/liveness.ts";
export {
  type EpochPoint,
  type NewRun,
  type NewTrial,
  openResults,
  type ReferenceRow,
  ResultsDb,
  type ResultsOptions,
  type RunRow,
  type RunStatus,
  type TrialRow,
  type TrialStatus,
} from "./src/results.ts";
export {
  type ColumnTest,
  type Comparison,
  type ComparisonTable,
  comparisonTable,
  meanStd,
  type MethodRow,
  type MetricStats,
  type ReferenceResult,
  type TableOptions,
  type TrialResult,
} from "./src/table.ts";
export {
  type FormatOptions,
  formatTable,
  roundToStd,
  type TableFormat,
} from "./src/table_format.ts";
export { type PairedTTest, pairedTTest, studentTTwoSided } from "./src/stats.ts";
export { type CompareOptions, compareRuns, type CompareSource } from "./src/compare.ts";

// The third-party types kt's signatures name (tfjs tensors, layers and models, zod schemas), so
// that every signature above is documented. zod's namespace itself is `z`, exported above.
export type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D, Variable } from "@tensorflow/tfjs-core";
export type { LayersModel } from "@tensorflow/tfjs-layers";
export type { Layer } from "@tensorflow/tfjs-layers/dist/engine/topology.js";
export type { ZodString, ZodType } from "zod";
