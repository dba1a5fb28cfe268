/**
 * Evaluation metrics: retrieval (mAP, P@k), quadratic mutual information, accuracy and k-NN
 * accuracy. Plain functions over feature matrices and label arrays.
 * @module
 */
export {
  DEFAULT_PRECISION_K,
  type FeatureInput,
  retrievalMetrics,
  type RetrievalOptions,
  type RetrievalResult,
  scoreBlocks,
  type ScoreEngine,
  type Similarity,
} from "./retrieval.ts";
export { type QmiOptions, quadraticMutualInformation } from "./qmi.ts";
export { accuracy, knnAccuracy, type KnnOptions } from "./classification.ts";
