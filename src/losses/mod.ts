/**
 * Knowledge-transfer losses as pure tensor functions: PKT and its variants, Hinton KD,
 * cross-entropy, hint and FitNets losses.
 * @module
 */
export {
  labelProbabilities,
  multiLayerPktLoss,
  PKT_DEFAULTS,
  PKT_DIVERGENCES,
  PKT_KERNELS,
  type PktDivergence,
  type PktKernel,
  pktLoss,
  type PktOptions,
  type PktPair,
  pktProbabilities,
  supervisedPktLoss,
} from "./pkt.ts";
export { crossEntropy, HINTON_FORMS, hintonLoss, type HintonOptions } from "./hinton.ts";
export {
  applyRegressor,
  fitnetsLoss,
  hintLoss,
  type HintOptions,
  randomProjection,
  type Regressor,
} from "./hint.ts";
