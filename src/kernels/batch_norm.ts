/**
 * Batch normalisation in training as two fused wasm kernels (kt's own names, used by
 * {@linkcode KtBatchNormalization} in `src/batch_norm_layer.ts`):
 *
 * - `KtBatchNormTrain` (x, gamma, beta; attr epsilon) → [y, mean, variance]: per-channel batch
 *   mean and biased variance over all axes but the last, y = (x − mean)·gamma/√(variance + ε) + beta;
 * - `KtBatchNormTrainGrad` (dy, x, mean, variance, gamma; epsilon) → [dx, dgamma, dbeta], the
 *   full gradient including the paths through the batch statistics:
 *   dx = γ·s·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), dγ = Σ dy·x̂, dβ = Σ dy, with s = 1/√(var + ε),
 *   x̂ = (x − mean)·s and M the number of values per channel.
 *
 * The stock path (moments + FusedBatchNorm and their gradients) runs ~20 elementwise kernels per
 * layer and step; these run two passes forward and two backward.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type WasmBackendLike, withScope } from "./_scope.ts";
import { batchNormModule, batchNormSupported } from "./wasm/batch_norm.ts";
import { backendMemory, instantiate } from "./wasm/runtime.ts";

/** Kernel names. */
export const BATCH_NORM_TRAIN = "KtBatchNormTrain";
export const BATCH_NORM_TRAIN_GRAD = "KtBatchNormTrainGrad";

interface BatchNormExports {
  moments(x: number, out: number, rows: number): void;
  sums(dy: number, x: number, mean: number, out: number, rows: number): void;
  affine(x: number, coef: number, y: number, rows: number): void;
  affine2(dy: number, x: number, coef: number, dx: number, rows: number): void;
}

/** Whether the fused kernels can normalise `shape` (last axis = channels) on this backend. */
export function fusedBatchNormApplies(backend: tf.KernelBackend, shape: number[]): boolean {
  const c = shape[shape.length - 1];
  return backendMemory(backend) !== undefined && batchNormSupported(c) &&
    tf.util.sizeFromShape(shape) > 0;
}

function exportsFor(backend: tf.KernelBackend, c: number): BatchNormExports {
  const memory = backendMemory(backend);
  if (!memory || !batchNormSupported(c)) {
    throw new Error(`kt batch norm kernels: ${c} channels are not supported on this backend`);
  }
  return instantiate(
    memory,
    `batchNorm ${c}`,
    () => batchNormModule(c),
  ) as unknown as BatchNormExports;
}

const at = (backend: WasmBackendLike, t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;

/** `KtBatchNormTrain`. */
export function batchNormTrain(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs;
  const epsilon = (args.attrs?.epsilon as number | undefined) ?? 1e-3;
  const c = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const k = exportsFor(args.backend, c);
  const outs: tf.TensorInfo[] = [];
  withScope(args.backend, (s) => {
    const b = s.backend;
    const y = s.track(b.makeOutput(x.shape, "float32"));
    const mean = b.makeOutput([c], "float32");
    const variance = b.makeOutput([c], "float32");
    outs.push(y, mean, variance);
    const stats = s.track(b.makeOutput([2 * c], "float32"));
    const coef = s.track(b.makeOutput([3 * c], "float32"));
    k.moments(at(b, x), at(b, stats), rows);
    const sv = b.typedArrayFromHeap(stats) as Float32Array;
    const cv = b.typedArrayFromHeap(coef) as Float32Array;
    const gv = b.typedArrayFromHeap(gamma) as Float32Array;
    const bv = b.typedArrayFromHeap(beta) as Float32Array;
    (b.typedArrayFromHeap(mean) as Float32Array).set(sv.subarray(0, c));
    (b.typedArrayFromHeap(variance) as Float32Array).set(sv.subarray(c));
    for (let j = 0; j < c; j++) {
      cv[j] = sv[j];
      cv[c + j] = gv[j] / Math.sqrt(sv[c + j] + epsilon);
      cv[2 * c + j] = bv[j];
    }
    k.affine(at(b, x), at(b, coef), at(b, y), rows);
    return y;
  });
  return outs;
}

/** `KtBatchNormTrainGrad`. */
export function batchNormTrainGrad(args: KernelArgs): tf.TensorInfo[] {
  const { dy, x, mean, variance, gamma } = args.inputs;
  const epsilon = (args.attrs?.epsilon as number | undefined) ?? 1e-3;
  const c = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const k = exportsFor(args.backend, c);
  const outs: tf.TensorInfo[] = [];
  withScope(args.backend, (s) => {
    const b = s.backend;
    const dx = s.track(b.makeOutput(x.shape, "float32"));
    const dgamma = b.makeOutput([c], "float32");
    const dbeta = b.makeOutput([c], "float32");
    outs.push(dx, dgamma, dbeta);
    const sums = s.track(b.makeOutput([2 * c], "float32"));
    const coef = s.track(b.makeOutput([4 * c], "float32"));
    k.sums(at(b, dy), at(b, x), at(b, mean), at(b, sums), rows);
    const sv = b.typedArrayFromHeap(sums) as Float32Array;
    const cv = b.typedArrayFromHeap(coef) as Float32Array;
    const mv = b.typedArrayFromHeap(mean) as Float32Array;
    const vv = b.typedArrayFromHeap(variance) as Float32Array;
    const gv = b.typedArrayFromHeap(gamma) as Float32Array;
    const dgv = b.typedArrayFromHeap(dgamma) as Float32Array;
    const dbv = b.typedArrayFromHeap(dbeta) as Float32Array;
    for (let j = 0; j < c; j++) {
      const inv = 1 / Math.sqrt(vv[j] + epsilon);
      const sumDy = sv[j];
      const sumDyXc = sv[c + j]; // Σ dy·(x − mean)
      const a = gv[j] * inv;
      cv[j] = mv[j];
      cv[c + j] = a;
      cv[2 * c + j] = -a * inv * inv * sumDyXc / rows;
      cv[3 * c + j] = -a * sumDy / rows;
      dgv[j] = sumDyXc * inv;
      dbv[j] = sumDy;
    }
    k.affine2(at(b, dy), at(b, x), at(b, coef), at(b, dx), rows);
    return dx;
  });
  return outs;
}
