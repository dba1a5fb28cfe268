/**
 * `UnsortedSegmentSum` for the wasm backend (absent from stock 4.22), as a JS loop over the heap.
 * Ids outside [0, numSegments) are dropped, as on the cpu backend.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs, WasmBackendLike } from "./_scope.ts";

/** `UnsortedSegmentSum`: out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids may span several axes. */
export function unsortedSegmentSum(args: KernelArgs): tf.TensorInfo {
  const { x, segmentIds } = args.inputs;
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const backend = args.backend as unknown as WasmBackendLike;
  const inner = x.shape.slice(segmentIds.shape.length);
  const width = tf.util.sizeFromShape(inner);
  const out = backend.makeOutput([numSegments, ...inner], x.dtype);
  const xv = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const ov = backend.typedArrayFromHeap(out);
  ov.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const seg = ids[i];
    if (seg < 0 || seg >= numSegments) continue;
    const src = i * width;
    const dst = seg * width;
    for (let k = 0; k < width; k++) ov[dst + k] += xv[src + k];
  }
  return out;
}
