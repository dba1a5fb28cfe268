/**
 * The built-in plugin set (the package's `./plugins` export). The entry point hands this list to
 * the engine; `src/` never imports a concrete plugin. Add a built-in by importing its file here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinPlugins } from "./mod.ts";
 * const steps = builtinPlugins.filter((p) => p.kind === "step").map((p) => p.name);
 * assert.ok(steps.includes("trained-network") && steps.includes("transfer"));
 * ```
 * @module
 */
import type { Plugin } from "../mod.ts";
import cifar10 from "./datasets/cifar10.ts";
import fashionMnist from "./datasets/fashion_mnist.ts";
import idx from "./datasets/idx.ts";
import mnist from "./datasets/mnist.ts";
import npy from "./datasets/npy.ts";
import crossEntropyLoss from "./losses/cross_entropy.ts";
import fitnetsLoss from "./losses/fitnets.ts";
import hintOptimizedLoss from "./losses/hint_optimized.ts";
import hintRandomLoss from "./losses/hint_random.ts";
import hintonLoss from "./losses/hinton.ts";
import multiPktLoss from "./losses/multi_pkt.ts";
import noneLoss from "./losses/none.ts";
import pktLoss from "./losses/pkt.ts";
import spktLoss from "./losses/spkt.ts";
import sumLoss from "./losses/sum.ts";
import rkdLoss from "./losses/rkd.ts";
import spLoss from "./losses/sp.ts";
import atLoss from "./losses/at.ts";
import nstLoss from "./losses/nst.ts";
import ccLoss from "./losses/cc.ts";
import vidLoss from "./losses/vid.ts";
import crdLoss from "./losses/crd.ts";
import dkdLoss from "./losses/dkd.ts";
import distLoss from "./losses/dist.ts";
import cnn from "./models/cnn.ts";
import mlp from "./models/mlp.ts";
import resnet from "./models/resnet.ts";
import evaluate from "./steps/evaluate.ts";
import features from "./steps/features.ts";
import transfer from "./steps/transfer.ts";
import trainedNetwork from "./steps/trained_network.ts";
import saved from "./steps/saved.ts";
import hogTeacher from "./teachers/hog.ts";
import precomputedTeacher from "./teachers/precomputed.ts";
import retrievalMetric from "./metrics/retrieval.ts";
import qmiMetric from "./metrics/qmi.ts";
import accuracyMetric from "./metrics/accuracy.ts";
import knnMetric from "./metrics/knn.ts";
import local from "./executors/local.ts";
import inline from "./executors/inline.ts";
import slurm from "./executors/slurm.ts";

/** Every built-in plugin, in registration order. */
export const builtinPlugins: Plugin[] = [
  mnist,
  fashionMnist,
  cifar10,
  npy,
  idx,
  cnn,
  mlp,
  resnet,
  pktLoss,
  spktLoss,
  multiPktLoss,
  hintonLoss,
  hintRandomLoss,
  hintOptimizedLoss,
  fitnetsLoss,
  rkdLoss,
  spLoss,
  atLoss,
  nstLoss,
  ccLoss,
  vidLoss,
  crdLoss,
  dkdLoss,
  distLoss,
  crossEntropyLoss,
  noneLoss,
  sumLoss,
  trainedNetwork,
  saved,
  hogTeacher,
  precomputedTeacher,
  retrievalMetric,
  qmiMetric,
  accuracyMetric,
  knnMetric,
  features,
  transfer,
  evaluate,
  local,
  inline,
  slurm,
];
