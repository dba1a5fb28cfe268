/**
 * `BatchMatMul` / `_FusedMatMul` with transpose flags for the wasm backend: the stock kernel is
 * 15–25× slower with flags than an explicit transpose followed by the flag-free kernel.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type KernelArgs,
  type KernelScope,
  type WasmBackendLike,
  wasmKernel,
  withScope,
} from "./_scope.ts";
import { convInfo, directConv, filterGradientSimd } from "./conv.ts";
import { backendMemory } from "./wasm/runtime.ts";

/** `x` with its last two axes swapped. */
function swapLastTwo(s: KernelScope, x: tf.TensorInfo): tf.TensorInfo {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return s.transpose(x, perm);
}

/**
 * Wraps the stock matmul kernel `name`: calls without transpose flags go to it untouched; with
 * flags, the flagged operands are transposed explicitly and it is called flag-free.
 */
export function untransposedMatMul(name: "BatchMatMul" | "_FusedMatMul"): tf.KernelFunc {
  return (args) => {
    const { inputs, backend } = args as KernelArgs;
    const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
    if (name === "BatchMatMul") {
      const ours = matMulByConvKernels(args as KernelArgs, attrs);
      if (ours) return ours;
    }
    if (!attrs.transposeA && !attrs.transposeB) return wasmKernel(name)(args);
    return withScope(backend, (s) => {
      const a = attrs.transposeA ? swapLastTwo(s, inputs.a) : inputs.a;
      const b = attrs.transposeB ? swapLastTwo(s, inputs.b) : inputs.b;
      return s.run(name, { ...inputs, a, b }, {
        ...args.attrs,
        transposeA: false,
        transposeB: false,
      });
    });
  };
}

/** Largest inner dimension the matmul-as-convolution path takes (the kernel unrolls over it). */
const MAX_INNER = 4096;

/**
 * A single (batch 1) float32 matmul by kt's generated convolution kernels, which split over the
 * kernel threads: C = A·B as a 1×1 convolution of A's rows (pixels) with B; Aᵀ·B (a dense
 * layer's weight gradient) as the filter gradient of that convolution (summed over A's rows in
 * two fixed halves); A·Bᵀ (its input gradient) as a 1×1 convolution with Bᵀ. Undefined when the
 * shapes do not suit (the output's columns must be a multiple of 4).
 */
function matMulByConvKernels(
  args: KernelArgs,
  attrs: tf.BatchMatMulAttrs,
): tf.TensorInfo | undefined {
  const { a, b } = args.inputs;
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  // Plain matrices, or a batch of one.
  const matrix = (t: tf.TensorInfo) =>
    t.shape.length === 2 || (t.shape.length === 3 && t.shape[0] === 1);
  if (!matrix(a) || !matrix(b)) return undefined;
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const outShape = a.shape.length === 3 || b.shape.length === 3 ? [1] : [];
  const m = attrs.transposeA ? ac : ar;
  const k = attrs.transposeA ? ar : ac;
  const n = attrs.transposeB ? br : bc;
  if (n % 4 !== 0 || k > MAX_INNER || m === 0 || k === 0) return undefined;
  if ((attrs.transposeA && attrs.transposeB) || !backendMemory(args.backend)) return undefined;
  const failed = () => {
    throw new Error("kt matmul: a generated kernel refused a shape it was checked for");
  };
  return withScope(args.backend, (s) => {
    if (attrs.transposeA && !attrs.transposeB) {
      // dW[i, o] = Σ_r A[r, i]·B[r, o]: the filter gradient of a 1×1 convolution.
      // Rows as the pixels of two images (one per half), so each half sums in registers.
      const images = ar % 2 === 0 ? 2 : 1;
      const x = s.reshape(a, [images, 1, ar / images, ac]);
      const dy = s.reshape(b, [images, 1, br / images, bc]);
      const info = convInfo(x.shape, [1, 1, ac, bc], { strides: 1, pad: "valid" }, false);
      const dw = filterGradientSimd(s, x, dy, info) ?? failed();
      return s.reshape(dw, [...outShape, ac, bc]);
    }
    // C[r, o] = Σ_i A[r, i]·W[i, o] with W = B or Bᵀ: a 1×1 conv, rows of A as pixels, in two
    // images when the rows split evenly (so two threads share it).
    const w = attrs.transposeB ? s.transpose(s.reshape(b, [br, bc]), [1, 0]) : b;
    const images = m % 2 === 0 ? 2 : 1;
    const x = s.reshape(a, [images, 1, m / images, k]);
    const filter = s.reshape(w, [1, 1, k, n]);
    const out = directConv(
      args.backend,
      x,
      filter,
      { strides: 1, pad: "valid" },
      undefined,
      false,
      MAX_INNER,
    );
    return s.reshape(s.track(out ?? failed()), [...outShape, m, n]);
  });
}

/** Name of kt's batched matmul kernel: a batch of plain matmuls by the generated kernels. */
export const BATCH_MATMUL = "KtBatchMatMul";

/**
 * `KtBatchMatMul`: C[i] = op(A[i])·op(B[i]) for a batch of equally shaped float32 matrices
 * (rank 3, same batch, at most one transpose flag), one slice at a time through
 * {@linkcode matMulByConvKernels}: each slice is copied into a scratch matrix on the wasm heap,
 * multiplied, and copied into its place in the output. The stock `BatchMatMul` takes the same
 * product at about 1.5 GMAC/s; the slices go at the plain-matmul rate (RKD's 128×128×64 angle
 * tensors: bench/kernels_bench.ts). Shapes the generated kernels refuse, and anything else, go
 * to the stock kernel.
 */
export function batchMatMulBySlices(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs;
  const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  const stock = () => untransposedMatMul(tf.BatchMatMul)(args) as tf.TensorInfo;
  if (
    a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0] ||
    a.dtype !== "float32" || b.dtype !== "float32" ||
    a.shape.includes(0) || b.shape.includes(0)
  ) {
    return stock();
  }
  const backend = args.backend as unknown as WasmBackendLike;
  const [batch, ar, ac] = a.shape;
  const [, br, bc] = b.shape;
  const m = attrs.transposeA ? ac : ar;
  const n = attrs.transposeB ? br : bc;
  const flags = { transposeA: !!attrs.transposeA, transposeB: !!attrs.transposeB };
  return withScope(args.backend, (s) => {
    const sliceA = s.track(backend.makeOutput([ar, ac], "float32"));
    const sliceB = s.track(backend.makeOutput([br, bc], "float32"));
    const out = s.track(backend.makeOutput([batch, m, n], "float32"));
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    for (let i = 0; i < batch; i++) {
      // Views are taken after every allocation: a growing heap detaches the old ones.
      view(sliceA).set(view(a).subarray(i * ar * ac, (i + 1) * ar * ac));
      view(sliceB).set(view(b).subarray(i * br * bc, (i + 1) * br * bc));
      const c = matMulByConvKernels(
        {
          inputs: { a: sliceA, b: sliceB },
          attrs: flags as unknown as tf.NamedAttrMap,
          backend: args.backend,
        },
        flags as tf.BatchMatMulAttrs,
      );
      if (!c) return s.track(stock()); // the shape does not suit (decided on the first slice)
      view(out).set(view(c), i * m * n);
      backend.disposeData(c.dataId);
    }
    return out;
  });
}
