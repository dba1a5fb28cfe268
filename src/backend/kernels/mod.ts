/**
 * Kernels kt registers on the wasm backend so it can train (see DESIGN.md §3): the gradients
 * stock `@tensorflow/tfjs-backend-wasm` 4.22 lacks, faster versions of slow ones, and fused
 * kernels of kt's own (`Kt*`). Each is built from the backend's own kernels, a JS loop over the
 * wasm heap, or a WebAssembly SIMD module kt generates for the shape (`wasm/`), which runs in
 * place on the backend's memory.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../../errors.ts";
import { type KernelArgs, originalKernels } from "./_scope.ts";
import {
  conv2D,
  conv2DBackpropFilter,
  conv2DBackpropInput,
  depthwiseConv2dNativeBackpropFilter,
  depthwiseConv2dNativeBackpropInput,
  fusedConv2D,
} from "./conv.ts";
import { cast, identity, tile } from "./copy.ts";
import { ADAM_UPDATE, adamUpdate } from "./adam.ts";
import { add, registerReluGradient, relu, RELU_GRAD, reluGrad } from "./elementwise.ts";
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  batchNormTrain,
  batchNormTrainGrad,
} from "./batch_norm.ts";
import { BATCH_MATMUL, batchMatMulBySlices, untransposedMatMul } from "./matmul.ts";
import { maxPool, maxPoolGrad } from "./pool.ts";
import { mean, sum } from "./reduce.ts";
import { unsortedSegmentSum } from "./segment.ts";

/** Marks kernel functions registered by kt, so registering twice changes nothing. */
const KT_KERNEL = Symbol.for("kt.wasmKernel");

type Tagged = tf.KernelFunc & { [KT_KERNEL]?: true };

/** What kt registers: name → kernel function. `replaces` marks kernels stock wasm already has. */
const KERNELS: Array<
  { name: string; func: (args: KernelArgs) => tf.TensorInfo; replaces: boolean }
> = [
  { name: tf.Conv2DBackpropFilter, func: conv2DBackpropFilter, replaces: false },
  {
    name: tf.DepthwiseConv2dNativeBackpropFilter,
    func: depthwiseConv2dNativeBackpropFilter,
    replaces: false,
  },
  {
    name: tf.DepthwiseConv2dNativeBackpropInput,
    func: depthwiseConv2dNativeBackpropInput,
    replaces: false,
  },
  { name: tf.UnsortedSegmentSum, func: unsortedSegmentSum, replaces: false },
  { name: RELU_GRAD, func: reluGrad, replaces: false },
  { name: tf.Add, func: add, replaces: true },
  { name: tf.Relu, func: relu, replaces: true },
  {
    name: ADAM_UPDATE,
    func: adamUpdate as unknown as (a: KernelArgs) => tf.TensorInfo,
    replaces: false,
  },
  {
    name: BATCH_NORM_TRAIN,
    func: batchNormTrain as unknown as (a: KernelArgs) => tf.TensorInfo,
    replaces: false,
  },
  {
    name: BATCH_NORM_TRAIN_GRAD,
    func: batchNormTrainGrad as unknown as (a: KernelArgs) => tf.TensorInfo,
    replaces: false,
  },
  {
    name: tf.BatchMatMul,
    func: untransposedMatMul(tf.BatchMatMul) as (a: KernelArgs) => tf.TensorInfo,
    replaces: true,
  },
  {
    name: tf._FusedMatMul,
    func: untransposedMatMul(tf._FusedMatMul) as (a: KernelArgs) => tf.TensorInfo,
    replaces: true,
  },
  { name: BATCH_MATMUL, func: batchMatMulBySlices, replaces: false },
  { name: tf.MaxPoolGrad, func: maxPoolGrad, replaces: true },
  { name: tf.MaxPool, func: maxPool, replaces: true },
  { name: tf.Conv2DBackpropInput, func: conv2DBackpropInput, replaces: true },
  { name: tf.Conv2D, func: conv2D, replaces: true },
  { name: tf.FusedConv2D, func: fusedConv2D, replaces: true },
  { name: tf.Identity, func: identity, replaces: true },
  { name: tf.Cast, func: cast, replaces: true },
  { name: tf.Tile, func: tile, replaces: true },
  { name: tf.Sum, func: sum, replaces: true },
  { name: tf.Mean, func: mean, replaces: true },
];

/** Names of the kernels {@linkcode registerWasmTrainingKernels} registers for backend "wasm". */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.name);

/**
 * Registers, for backend "wasm", the training kernels the stock wasm backend lacks
 * (`Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter/Input`, `UnsortedSegmentSum`),
 * faster replacements (`Conv2D`/`FusedConv2D` for few input channels, `BatchMatMul`/
 * `_FusedMatMul` with transposes, `MaxPoolGrad`, `Conv2DBackpropInput`, bias `Add`, copy-free
 * `Identity`/`Cast`, block-copy `Tile`, `Sum`/`Mean` over leading axes), kt's fused kernels
 * (`KtReluGrad`, `KtAdamUpdate`, `KtBatchNormTrain`/`KtBatchNormTrainGrad`, `KtBatchMatMul`) and `Relu`'s gradient
 * (measured in `bench/kernels_bench.ts`). Idempotent; call after the wasm backend is imported.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { registerWasmTrainingKernels } from "./mod.ts";
 * await tf.setBackend("wasm");
 * registerWasmTrainingKernels();
 * registerWasmTrainingKernels(); // no-op
 * console.log(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined); // true
 * ```
 */
export function registerWasmTrainingKernels(): void {
  if (!tf.getKernel(tf.Conv2D, "wasm")) {
    throw new KtError("cannot register kt's wasm kernels: the wasm backend is not loaded", {
      hint: 'import "@tensorflow/tfjs-backend-wasm" first (useBackend("wasm") does)',
      where: "registerWasmTrainingKernels()",
    });
  }
  // Relu's gradient: the fused kernel on wasm, tfjs's own formula on every other backend.
  registerReluGradient();
  for (const { name, func, replaces } of KERNELS) {
    const current = tf.getKernel(name, "wasm");
    if ((current?.kernelFunc as Tagged | undefined)?.[KT_KERNEL]) continue;
    if (current && !replaces) continue; // a future tfjs-backend-wasm ships its own
    if (!current && replaces) continue; // nothing to speed up (and nothing to delegate to)
    if (current) {
      originalKernels.set(name, current.kernelFunc);
      tf.unregisterKernel(name, "wasm");
    }
    const tagged = ((args: KernelArgs) => func(args)) as Tagged;
    tagged[KT_KERNEL] = true;
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: tagged as tf.KernelFunc,
      // The stock setup (cwrap of the C++ entry) must still run if a new wasm backend starts.
      setupFunc: current?.setupFunc,
    });
  }
}
