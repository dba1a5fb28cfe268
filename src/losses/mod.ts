/**
 * Knowledge-transfer losses as pure tensor functions: PKT and its variants, Hinton KD,
 * cross-entropy, hint and FitNets losses, and the methods the reference libraries compare (RKD,
 * SP, AT, NST, DKD, DIST, and the fixed parts of CC, VID and CRD).
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
  type SingleKernel,
  supervisedPktLoss,
} from "./pkt.ts";
export { crossEntropy } from "./cross_entropy.ts";
export { HINTON_FORMS, hintonLoss, type HintonOptions } from "./hinton.ts";
export {
  applyRegressor,
  fitnetsLoss,
  hintLoss,
  type HintOptions,
  randomProjection,
  type Regressor,
} from "./hint.ts";
export { rkdLoss, type RkdOptions } from "./rkd.ts";
export { similarityPreservingLoss } from "./sp.ts";
export { attentionMap, type AttentionOptions, attentionTransferLoss } from "./at.ts";
export { nstLoss } from "./nst.ts";
export { dkdLoss, type DkdOptions } from "./dkd.ts";
export { distLoss, type DistOptions } from "./dist.ts";
export { ccLoss } from "./cc.ts";
export { vidInitialLogScale, vidLoss, type VidOptions, type VidParams } from "./vid.ts";
export {
  type ContrastSample,
  contrastSample,
  contrastSampler,
  CRD_MODES,
  crdContrastLoss,
  type CrdContrastOptions,
  crdEmbed,
  type CrdEmbedding,
  type CrdMode,
  crdNormalizer,
  crdUpdateMemory,
} from "./crd.ts";
