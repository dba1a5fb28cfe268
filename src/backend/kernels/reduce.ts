/**
 * `Sum` and `Mean` over the leading axes of a float32 tensor (e.g. a bias or batch-norm
 * gradient: [N, H, W, C] → [C]) as one streaming pass over the wasm heap with float64
 * accumulators (a generated SIMD kernel when the kept size is a multiple of 4). The stock kernels first transpose the reduced axes innermost, which costs more
 * than the sum itself. Other reductions go to the stock kernels.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type WasmBackendLike, wasmKernel } from "./_scope.ts";
import { sumRowsModule, sumRowsSupported } from "./wasm/reduce_rows.ts";
import { backendMemory, runParts, splitRange } from "./wasm/runtime.ts";

/** Row parts a sum always uses (so it adds up the same with one thread or two). */
const PARTS = 2;

/** The number of leading axes `axis` names when they are exactly 0..k-1 (k < rank), else 0. */
function leadingAxes(axis: number | number[], shape: number[]): number {
  const axes = [...new Set(tf.util.parseAxisParam(axis, shape))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

function reduceLeading(args: KernelArgs, name: "Sum" | "Mean"): tf.TensorInfo {
  const { x } = args.inputs;
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const k = x.dtype === "float32" ? leadingAxes(axis, x.shape) : 0;
  const size = tf.util.sizeFromShape(x.shape);
  if (k === 0 || size === 0) return wasmKernel(name)(args) as tf.TensorInfo;
  const backend = args.backend as unknown as WasmBackendLike;
  const inner = tf.util.sizeFromShape(x.shape.slice(k));
  const rows = size / inner;
  const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
  const out = backend.makeOutput(outShape, "float32");
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const ov = backend.typedArrayFromHeap(out) as Float32Array;
  const memory = backendMemory(args.backend);
  if (memory && sumRowsSupported(inner)) {
    // Two fixed halves of the rows (threads or not: the same sums), float64 until the end.
    const partial = backend.makeOutput([2 * 2 * inner], "float32");
    try {
      const base = backend.typedArrayFromHeap(partial).byteOffset;
      const xAt = backend.typedArrayFromHeap(x).byteOffset;
      runParts(
        memory,
        `sumRows ${inner}`,
        () => sumRowsModule(inner),
        "run",
        splitRange(rows, PARTS).map(([start, count], k) => [
          xAt + start * inner * 4,
          base + k * 8 * inner,
          count,
        ]),
      );
      const view = new DataView(memory.buffer, base, PARTS * 8 * inner);
      const outView = backend.typedArrayFromHeap(out) as Float32Array;
      const count = name === "Mean" ? rows : 1;
      for (let j = 0; j < inner; j++) {
        let total = 0;
        for (let k = 0; k < PARTS; k++) total += view.getFloat64((k * inner + j) * 8, true);
        outView[j] = total / count;
      }
    } finally {
      backend.disposeData(partial.dataId);
    }
    return out;
  }
  const acc = new Float64Array(inner);
  for (let r = 0, o = 0; r < rows; r++, o += inner) {
    for (let j = 0; j < inner; j++) acc[j] += xv[o + j];
  }
  const count = name === "Mean" ? rows : 1;
  for (let j = 0; j < inner; j++) ov[j] = acc[j] / count;
  return out;
}

/** `Sum`: a heap pass for float32 reductions over leading axes, the stock kernel otherwise. */
export function sum(args: KernelArgs): tf.TensorInfo {
  return reduceLeading(args, "Sum");
}

/** `Mean`: a heap pass for float32 reductions over leading axes, the stock kernel otherwise. */
export function mean(args: KernelArgs): tf.TensorInfo {
  return reduceLeading(args, "Mean");
}
