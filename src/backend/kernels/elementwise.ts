/**
 * Two elementwise kernels of every training step, fused or vectorised on wasm:
 *
 * - `KtReluGrad` (dy, x) → dy · step(x): the ReLU gradient in one pass, where tfjs runs `Step`,
 *   `Cast` and `Multiply`; kt registers it as the gradient of `Relu` (see
 *   {@linkcode reluGradient}; other backends keep tfjs's formula);
 * - `Add` for a float32 tensor plus a bias over its last axis ([..., C] + [C], C a multiple of 4)
 *   by a SIMD loop; any other `Add` goes to the stock kernel.
 *
 * Both compute the same float32 operations as tfjs, so results are bit-identical.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type WasmBackendLike, wasmKernel } from "./_scope.ts";
import { elementwiseModule } from "./wasm/elementwise.ts";
import { backendMemory, partsFor, runParts, splitRange } from "./wasm/runtime.ts";

/** Smallest number of floats worth a thread of its own. */
const MIN_PART = 1 << 17;

/** Kernel name of the fused ReLU gradient. */
export const RELU_GRAD = "KtReluGrad";

interface ElementwiseExports {
  reluGrad(dy: number, x: number, out: number, n4: number): void;
  biasAdd(x: number, bias: number, out: number, rows: number, c: number): void;
}

/** Runs export `fn` of the elementwise module once per argument list, over the kernel threads. */
function run(backend: tf.KernelBackend, fn: string, parts: number[][]): boolean {
  const memory = backendMemory(backend);
  if (!memory) return false;
  runParts(memory, "elementwise", elementwiseModule, fn, parts);
  return true;
}

/** `KtReluGrad`: dy · step(x) with step(NaN) = NaN (float32 inputs of one shape). */
export function reluGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, x } = args.inputs;
  const backend = args.backend as unknown as WasmBackendLike;
  if (!backendMemory(args.backend)) throw new Error("KtReluGrad needs the wasm backend's memory");
  const out = backend.makeOutput(x.shape, "float32");
  const [dv, xv, ov] = [dy, x, out].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const n = xv.length;
  const n4 = n - (n % 4);
  run(
    args.backend,
    "reluGrad",
    splitRange(n4 / 4, partsFor(n4, MIN_PART)).map(([start, count]) => [
      dv.byteOffset + start * 16,
      xv.byteOffset + start * 16,
      ov.byteOffset + start * 16,
      count * 4,
    ]),
  );
  for (let i = n4; i < n; i++) {
    const xi = xv[i];
    ov[i] = dv[i] * (xi > 0 ? 1 : Number.isNaN(xi) ? NaN : 0);
  }
  return out;
}

/** `Add`: a SIMD loop for [..., C] + [C] (either order, float32, C % 4 = 0), stock otherwise. */
export function add(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs;
  const biasFirst = isBiasOf(a, b);
  if (biasFirst || isBiasOf(b, a)) {
    if (backendMemory(args.backend)) {
      const [x, bias] = biasFirst ? [b, a] : [a, b];
      const backend = args.backend as unknown as WasmBackendLike;
      const out = backend.makeOutput(x.shape, "float32");
      const c = x.shape[x.shape.length - 1];
      const at = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
      const rows = tf.util.sizeFromShape(x.shape) / c;
      run(
        args.backend,
        "biasAdd",
        splitRange(rows, partsFor(rows * c, MIN_PART)).map(([start, count]) => [
          at(x) + start * c * 4,
          at(bias),
          at(out) + start * c * 4,
          count,
          c,
        ]),
      );
      return out;
    }
  }
  return wasmKernel(tf.Add)(args) as tf.TensorInfo;
}

/** `Relu` for float32: one SIMD pass split over the kernel threads; stock otherwise. */
export function relu(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype !== "float32" || !backendMemory(args.backend)) {
    return wasmKernel(tf.Relu)(args) as tf.TensorInfo;
  }
  const backend = args.backend as unknown as WasmBackendLike;
  const out = backend.makeOutput(x.shape, "float32");
  const [xv, ov] = [x, out].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
  const n = xv.length;
  const n4 = n - (n % 4);
  run(
    args.backend,
    "relu",
    splitRange(n4 / 4, partsFor(n4, MIN_PART)).map(([start, count]) => [
      xv.byteOffset + start * 16,
      ov.byteOffset + start * 16,
      count * 4,
    ]),
  );
  for (let i = n4; i < n; i++) ov[i] = Math.max(0, xv[i]);
  return out;
}

/** Whether `bias` is a float32 vector over the last axis of a non-empty float32 `x`. */
function isBiasOf(bias: tf.TensorInfo, x: tf.TensorInfo): boolean {
  const c = x.shape[x.shape.length - 1];
  return bias.dtype === "float32" && x.dtype === "float32" && x.shape.length >= 2 &&
    bias.shape.length === 1 && bias.shape[0] === c && c % 4 === 0 && c > 0 &&
    tf.util.sizeFromShape(x.shape) > 0;
}

/** The ReLU gradient: the fused kernel on wasm, tfjs's `dy · step(x)` elsewhere. */
export function reluGradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (
    tf.getBackend() === "wasm" && tf.getKernel(RELU_GRAD, "wasm") !== undefined &&
    dy.dtype === "float32" && x.dtype === "float32" && tf.util.arraysEqual(dy.shape, x.shape)
  ) {
    return tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), "float32"));
}

/** Makes {@linkcode reluGradient} the gradient of `Relu` (and gives `KtReluGrad` its own). */
export function registerReluGradient(): void {
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => ({ x: () => reluGradient(dy as tf.Tensor, saved[0]) }),
  });
  tf.registerGradient({
    kernelName: RELU_GRAD,
    inputsToSave: ["x"],
    gradFunc: (g, saved) => ({
      dy: () => reluGradient(g as tf.Tensor, saved[0]),
      x: () => tf.zerosLike(saved[0]),
    }),
  });
}
