/**
 * `MaxPoolGrad` for the wasm backend as one pass over the wasm heap in JS: for each pooling
 * window, the first maximum in row-major window order receives the window's gradient (the cpu
 * backend's rule, so ties and overlapping windows match it exactly).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs, WasmBackendLike } from "./_scope.ts";

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
  dxv.fill(0);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let o = 0; // offset of dy[n, i, j, 0]
  for (let n = 0; n < batchSize; n++) {
    const batchBase = n * h * w * c;
    for (let i = 0; i < ho; i++) {
      const r0 = Math.max(0, i * sh - top);
      const r1 = Math.min(h, i * sh - top + fh);
      for (let j = 0; j < wo; j++, o += c) {
        const c0 = Math.max(0, j * sw - left);
        const c1 = Math.min(w, j * sw - left + fw);
        best.fill(-Infinity);
        where.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let q = c0; q < c1; q++) {
            const base = batchBase + (r * w + q) * c;
            for (let k = 0; k < c; k++) {
              const v = xv[base + k];
              if (v > best[k]) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        for (let k = 0; k < c; k++) {
          if (where[k] >= 0) dxv[where[k]] += dyv[o + k];
        }
      }
    }
  }
  return dx;
}
