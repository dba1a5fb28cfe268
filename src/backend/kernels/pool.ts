/**
 * `MaxPoolGrad` for the wasm backend as one pass over the wasm heap (a generated SIMD kernel for
 * 2×2/2 windows over a multiple of 4 channels, JS otherwise): for each pooling
 * window, the first maximum in row-major window order receives the window's gradient (the cpu
 * backend's rule, so ties and overlapping windows match it exactly).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type WasmBackendLike, wasmKernel } from "./_scope.ts";
import { poolGradModule, poolGradSupported } from "./wasm/pool_grad.ts";
import { backendMemory, partsFor, runParts, splitRange } from "./wasm/runtime.ts";

/** `MaxPoolGrad` (inputs dy, input, output; NHWC; any window, stride and padding). */
export function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const { dy, input } = args.inputs;
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const backend = args.backend as unknown as WasmBackendLike;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, "float32");
  // Views only after the allocation: makeOutput may grow (and so detach) the heap.
  const xv = backend.typedArrayFromHeap(input) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const dxv = backend.typedArrayFromHeap(dx) as Float32Array;
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const tiles = fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0;
  if (tiles && 2 * ho <= h && 2 * wo <= w) {
    if (2 * ho < h || 2 * wo < w) dxv.fill(0); // rows/cols in no window
    const shape = { h, w, c, ho, wo };
    const memory = backendMemory(args.backend);
    if (memory && poolGradSupported(shape) && input.dtype === "float32") {
      // One part of the batch per kernel thread (no sums: any split gives the same result).
      const image = h * w * c * 4;
      const outImage = ho * wo * c * 4;
      runParts(
        memory,
        `poolGrad2x2 ${h},${w},${c},${ho},${wo}`,
        () => poolGradModule(shape),
        "run",
        splitRange(batchSize, partsFor(batchSize * h * w * c, 1 << 17)).map(([start, count]) => [
          xv.byteOffset + start * image,
          dyv.byteOffset + start * outImage,
          dxv.byteOffset + start * image,
          count,
        ]),
      );
      return dx;
    }
    pool2x2Grad(xv, dyv, dxv, batchSize, h, w, c, ho, wo);
    return dx;
  }
  dxv.fill(0);
  let o = 0; // offset of dy[n, i, j, 0]
  for (let n = 0; n < batchSize; n++) {
    const batchBase = n * h * w * c;
    for (let i = 0; i < ho; i++) {
      const r0 = Math.max(0, i * sh - top);
      const r1 = Math.min(h, i * sh - top + fh);
      for (let j = 0; j < wo; j++, o += c) {
        const c0 = Math.max(0, j * sw - left);
        const c1 = Math.min(w, j * sw - left + fw);
        for (let k = 0; k < c; k++) {
          // First maximum in row-major window order; NaN never wins, as on cpu.
          let best = -Infinity;
          let where = -1;
          for (let r = r0; r < r1; r++) {
            let idx = batchBase + (r * w + c0) * c + k;
            for (let q = c0; q < c1; q++, idx += c) {
              const v = xv[idx];
              if (v > best) {
                best = v;
                where = idx;
              }
            }
          }
          if (where >= 0) dxv[where] += dyv[o + k];
        }
      }
    }
  }
  return dx;
}

/**
 * The 2×2, stride-2, unpadded case: windows do not overlap, so every input entry of a window is
 * written once (the winner gets dy, the others 0) and no zero fill is needed.
 */
function pool2x2Grad(
  xv: Float32Array,
  dyv: Float32Array,
  dxv: Float32Array,
  batch: number,
  h: number,
  w: number,
  c: number,
  ho: number,
  wo: number,
): void {
  const rowStep = w * c;
  let o = 0;
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < ho; i++) {
      let p00 = (n * h + 2 * i) * rowStep;
      for (let j = 0; j < wo; j++, o += c, p00 += 2 * c) {
        const p01 = p00 + c;
        const p10 = p00 + rowStep;
        const p11 = p10 + c;
        for (let k = 0; k < c; k++) {
          const a = xv[p00 + k];
          const b = xv[p01 + k];
          const d = xv[p10 + k];
          const e = xv[p11 + k];
          // Index (0..3, row-major) of the first maximum; -1 when all are NaN.
          let best = -Infinity;
          let win = -1;
          if (a > best) (best = a), (win = 0);
          if (b > best) (best = b), (win = 1);
          if (d > best) (best = d), (win = 2);
          if (e > best) (best = e), (win = 3);
          const g = dyv[o + k];
          dxv[p00 + k] = win === 0 ? g : 0;
          dxv[p01 + k] = win === 1 ? g : 0;
          dxv[p10 + k] = win === 2 ? g : 0;
          dxv[p11 + k] = win === 3 ? g : 0;
        }
      }
    }
  }
}

/** `MaxPool`: kt's SIMD kernel for 2×2/2 unpadded windows over 4k channels, stock otherwise. */
export function maxPool(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  const attrs = args.attrs as unknown as tf.MaxPoolAttrs;
  const memory = backendMemory(args.backend);
  if (memory && x.dtype === "float32" && x.shape.length === 4) {
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
    const shape = { h, w, c, ho, wo };
    const tiles = info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 &&
      info.strideWidth === 2 && info.padInfo.top === 0 && info.padInfo.left === 0 &&
      info.dilationHeight === 1 && info.dilationWidth === 1;
    if (tiles && poolGradSupported(shape)) {
      const backend = args.backend as unknown as WasmBackendLike;
      const out = backend.makeOutput(info.outShape, "float32");
      const at = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
      const image = h * w * c * 4;
      const outImage = ho * wo * c * 4;
      runParts(
        memory,
        `poolGrad2x2 ${h},${w},${c},${ho},${wo}`,
        () => poolGradModule(shape),
        "forward",
        splitRange(batchSize, partsFor(batchSize * h * w * c, 1 << 17)).map((
          [start, count],
        ) => [at(x) + start * image, at(out) + start * outImage, count]),
      );
      return out;
    }
  }
  return wasmKernel(tf.MaxPool)(args) as tf.TensorInfo;
}
