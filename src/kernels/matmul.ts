/**
 * `BatchMatMul` / `_FusedMatMul` with transpose flags for the wasm backend: the stock kernel is
 * 15–25× slower with flags than an explicit transpose followed by the flag-free kernel.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type KernelScope, wasmKernel, withScope } from "./_scope.ts";

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
