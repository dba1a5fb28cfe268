/**
 * Copy-free and block-copy kernels for the wasm backend:
 *
 * - `Identity` and same-dtype `Cast` share the input's memory (one more reference) instead of
 *   copying it, as the cpu backend does. The engine clones every tensor it saves for the
 *   backward pass, so the stock copying `Identity` costs a full copy of each saved activation.
 * - `Tile` copies whole blocks and doubles them with `copyWithin`; the stock kernel computes an
 *   index per element (53 ms to tile [1,1,1,8] to [128,32,32,8] in a batch-norm gradient).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type WasmBackendLike, wasmKernel } from "./_scope.ts";

/** A new reference to `x`'s memory under the same shape and dtype. */
function shareInput(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** `Identity` without a copy (strings go to the stock kernel). */
export function identity(args: KernelArgs): tf.TensorInfo {
  if (args.inputs.x.dtype === "string") return wasmKernel(tf.Identity)(args) as tf.TensorInfo;
  return shareInput(args);
}

/**
 * `Cast`: a shared reference when the dtype does not change; to bool, x ≠ 0 (the stock kernel
 * truncates the bytes: 0.5 → 0, -1 → 255); otherwise the stock kernel.
 */
export function cast(args: KernelArgs): tf.TensorInfo {
  const { dtype } = args.attrs as unknown as tf.CastAttrs;
  const { x } = args.inputs;
  if (dtype === x.dtype && dtype !== "string") return shareInput(args);
  if (dtype === "bool" && (x.dtype === "float32" || x.dtype === "int32")) {
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(x.shape, "bool");
    const xv = backend.typedArrayFromHeap(x);
    const ov = backend.typedArrayFromHeap(out);
    for (let i = 0; i < xv.length; i++) ov[i] = xv[i] !== 0 ? 1 : 0;
    return out;
  }
  return wasmKernel(tf.Cast)(args) as tf.TensorInfo;
}

/** Repeats the block `[start, start + size)` of `v` until it fills `size · times` entries. */
function repeatBlock(
  v: Float32Array | Int32Array | Uint8Array,
  start: number,
  size: number,
  times: number,
) {
  const total = size * times;
  for (let done = size; done < total; done *= 2) {
    v.copyWithin(start + done, start, start + Math.min(done, total - done));
  }
}

/** `Tile`: out[i₀, …] = x[i₀ mod s₀, …], built from the innermost axis outwards. */
export function tile(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  if (x.dtype === "string" || tf.util.sizeFromShape(x.shape) === 0 || x.shape.length === 0) {
    return wasmKernel(tf.Tile)(args) as tf.TensorInfo;
  }
  const backend = args.backend as unknown as WasmBackendLike;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  // Views only after the allocation: makeOutput may grow (and so detach) the heap.
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  // Sizes of one index step along each axis, in the input and in the output.
  const inStride = new Array<number>(rank);
  const outStride = new Array<number>(rank);
  inStride[rank - 1] = 1;
  outStride[rank - 1] = 1;
  for (let a = rank - 2; a >= 0; a--) {
    inStride[a] = inStride[a + 1] * x.shape[a + 1];
    outStride[a] = outStride[a + 1] * outShape[a + 1];
  }
  const fill = (axis: number, inOff: number, outOff: number): void => {
    const n = x.shape[axis];
    if (axis === rank - 1) {
      ov.set(xv.subarray(inOff, inOff + n), outOff);
    } else {
      for (let i = 0; i < n; i++) {
        fill(axis + 1, inOff + i * inStride[axis], outOff + i * outStride[axis]);
      }
    }
    // The first copy along this axis is complete: repeat it reps[axis] times.
    repeatBlock(ov, outOff, n * outStride[axis], reps[axis]);
  };
  fill(0, 0, 0);
  return out;
}
