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
import { backendMemory, instantiate } from "./wasm/runtime.ts";

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
    const kernel = instantiate(memory, `sumRows ${inner}`, () => sumRowsModule(inner))
      .run as (x: number, out: number, rows: number, divisor: number) => void;
    kernel(xv.byteOffset, ov.byteOffset, rows, name === "Mean" ? rows : 1);
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
