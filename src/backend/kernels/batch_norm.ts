/**
 * Batch normalisation in training as two fused wasm kernels (kt's own names, used by
 * {@linkcode KtBatchNormalization} in `src/backend/batch_norm_layer.ts`):
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
import { backendMemory, partsFor, runParts, splitRange } from "./wasm/runtime.ts";

/** Kernel names. */
export const BATCH_NORM_TRAIN = "KtBatchNormTrain";
export const BATCH_NORM_TRAIN_GRAD = "KtBatchNormTrainGrad";

/** Whether the fused kernels can normalise `shape` (last axis = channels) on this backend. */
export function fusedBatchNormApplies(backend: tf.KernelBackend, shape: number[]): boolean {
  const c = shape[shape.length - 1];
  return backendMemory(backend) !== undefined && batchNormSupported(c) &&
    tf.util.sizeFromShape(shape) > 0;
}

/** Parts the reductions always use, so sums add up in the same order for any thread count. */
const REDUCTION_PARTS = 2;

function memoryOf(backend: tf.KernelBackend, c: number): WebAssembly.Memory {
  const memory = backendMemory(backend);
  if (!memory || !batchNormSupported(c)) {
    throw new Error(`kt batch norm kernels: ${c} channels are not supported on this backend`);
  }
  return memory;
}

/** Runs export `fn` of the module for `c` channels once per argument list (over the threads). */
function run(memory: WebAssembly.Memory, c: number, fn: string, parts: number[][]): void {
  runParts(memory, `batchNorm ${c}`, () => batchNormModule(c), fn, parts);
}

/**
 * Runs a reduction export over {@linkcode REDUCTION_PARTS} row ranges into `partial` (float64
 * [2C] per part) and returns the two float64 sums per channel, parts added in order.
 */
function reduce(
  memory: WebAssembly.Memory,
  backend: WasmBackendLike,
  c: number,
  rows: number,
  fn: "moments" | "sums",
  partial: tf.TensorInfo,
  args: (start: number) => number[],
): [Float64Array, Float64Array] {
  const base = at(backend, partial);
  run(
    memory,
    c,
    fn,
    splitRange(rows, REDUCTION_PARTS).map(([start, count], k) => [
      ...args(start),
      base + k * 16 * c,
      count,
    ]),
  );
  const view = new DataView(memory.buffer, base, REDUCTION_PARTS * 16 * c);
  const first = new Float64Array(c);
  const second = new Float64Array(c);
  for (let k = 0; k < REDUCTION_PARTS; k++) {
    for (let j = 0; j < c; j++) {
      first[j] += view.getFloat64(k * 16 * c + 8 * j, true);
      second[j] += view.getFloat64(k * 16 * c + 8 * (c + j), true);
    }
  }
  return [first, second];
}

/** Row ranges for the elementwise passes: one per kernel thread (for big enough inputs). */
function elementwiseParts(rows: number, c: number): Array<[number, number]> {
  return splitRange(rows, partsFor(rows * c, 1 << 17));
}

const at = (backend: WasmBackendLike, t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;

/** `KtBatchNormTrain`. */
export function batchNormTrain(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs;
  const epsilon = (args.attrs?.epsilon as number | undefined) ?? 1e-3;
  const c = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const memory = memoryOf(args.backend, c);
  const outs: tf.TensorInfo[] = [];
  withScope(args.backend, (s) => {
    const b = s.backend;
    const y = s.track(b.makeOutput(x.shape, "float32"));
    const mean = b.makeOutput([c], "float32");
    const variance = b.makeOutput([c], "float32");
    outs.push(y, mean, variance);
    const partial = s.track(b.makeOutput([REDUCTION_PARTS * 4 * c], "float32"));
    const coef = s.track(b.makeOutput([3 * c], "float32"));
    const xAt = at(b, x);
    const [sum, sumSq] = reduce(memory, b, c, rows, "moments", partial, (start) => [
      xAt + start * c * 4,
    ]);
    const cv = b.typedArrayFromHeap(coef) as Float32Array;
    const gv = b.typedArrayFromHeap(gamma) as Float32Array;
    const bv = b.typedArrayFromHeap(beta) as Float32Array;
    const mv = b.typedArrayFromHeap(mean) as Float32Array;
    const vv = b.typedArrayFromHeap(variance) as Float32Array;
    for (let j = 0; j < c; j++) {
      const m = sum[j] / rows;
      mv[j] = m;
      vv[j] = Math.max(sumSq[j] / rows - m * m, 0);
      cv[j] = mv[j];
      cv[c + j] = gv[j] / Math.sqrt(vv[j] + epsilon);
      cv[2 * c + j] = bv[j];
    }
    const coefAt = at(b, coef);
    const yAt = at(b, y);
    run(
      memory,
      c,
      "affine",
      elementwiseParts(rows, c).map(([start, count]) => [
        xAt + start * c * 4,
        coefAt,
        yAt + start * c * 4,
        count,
      ]),
    );
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
  const memory = memoryOf(args.backend, c);
  const outs: tf.TensorInfo[] = [];
  withScope(args.backend, (s) => {
    const b = s.backend;
    const dx = s.track(b.makeOutput(x.shape, "float32"));
    const dgamma = b.makeOutput([c], "float32");
    const dbeta = b.makeOutput([c], "float32");
    outs.push(dx, dgamma, dbeta);
    const partial = s.track(b.makeOutput([REDUCTION_PARTS * 4 * c], "float32"));
    const coef = s.track(b.makeOutput([4 * c], "float32"));
    const [dyAt, xAt, meanAt] = [at(b, dy), at(b, x), at(b, mean)];
    const [sumDy, sumDyXc] = reduce(memory, b, c, rows, "sums", partial, (start) => [
      dyAt + start * c * 4,
      xAt + start * c * 4,
      meanAt,
    ]);
    const cv = b.typedArrayFromHeap(coef) as Float32Array;
    const mv = b.typedArrayFromHeap(mean) as Float32Array;
    const vv = b.typedArrayFromHeap(variance) as Float32Array;
    const gv = b.typedArrayFromHeap(gamma) as Float32Array;
    const dgv = b.typedArrayFromHeap(dgamma) as Float32Array;
    const dbv = b.typedArrayFromHeap(dbeta) as Float32Array;
    for (let j = 0; j < c; j++) {
      const inv = 1 / Math.sqrt(vv[j] + epsilon);
      const a = gv[j] * inv;
      cv[j] = mv[j];
      cv[c + j] = a;
      cv[2 * c + j] = -a * inv * inv * sumDyXc[j] / rows;
      cv[3 * c + j] = -a * sumDy[j] / rows;
      dgv[j] = sumDyXc[j] * inv;
      dbv[j] = sumDy[j];
    }
    const coefAt = at(b, coef);
    const dxAt = at(b, dx);
    run(
      memory,
      c,
      "affine2",
      elementwiseParts(rows, c).map(([start, count]) => [
        dyAt + start * c * 4,
        xAt + start * c * 4,
        coefAt,
        dxAt + start * c * 4,
        count,
      ]),
    );
    return dx;
  });
  return outs;
}
