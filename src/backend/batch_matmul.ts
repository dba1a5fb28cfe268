/**
 * {@linkcode batchMatMul}: a batch of matrix products with kt's `KtBatchMatMul` kernel on wasm
 * (each slice by the generated plain-matmul kernels, 8–9× the stock `BatchMatMul` on RKD's
 * shapes) and its gradient by the same kernel; `tf.matMul` on every other backend.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { BATCH_MATMUL } from "./kernels/matmul.ts";

/**
 * op(A[i])·op(B[i]) for B×m×k and B×k×n float32 batches (op = transpose where its flag is set;
 * at most one flag), as `tf.matMul(a, b, transposeA, transposeB)` computes it. On wasm with kt's
 * kernels the product and both gradients run slice by slice through the generated kernels, so
 * the results differ from `tf.matMul`'s in float rounding only; anything else is `tf.matMul`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { batchMatMul } from "./batch_matmul.ts";
 * await tf.setBackend("cpu");
 * const a = tf.tensor3d([[[1, 2]], [[3, 4]]]); // 2 × 1 × 2
 * console.log(batchMatMul(a, a, false, true).arraySync()); // [[[5]], [[25]]]
 * ```
 */
export function batchMatMul(
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  transposeA = false,
  transposeB = false,
): tf.Tensor3D {
  // Only equal batches with matching inner sizes go to the kernel; tf.matMul broadcasts or
  // reports anything else.
  const inner = (t: tf.Tensor3D, transposed: boolean, left: boolean) =>
    t.shape[left === transposed ? 1 : 2];
  const fast = tf.getBackend() === "wasm" && tf.getKernel(BATCH_MATMUL, "wasm") !== undefined &&
    !(transposeA && transposeB) && a.dtype === "float32" && b.dtype === "float32" &&
    a.rank === 3 && b.rank === 3 && a.shape[0] === b.shape[0] &&
    inner(a, transposeA, true) === inner(b, transposeB, false);
  if (!fast) return tf.matMul(a, b, transposeA, transposeB);
  const product = (x: tf.Tensor, y: tf.Tensor, tA: boolean, tB: boolean) =>
    tf.engine().runKernel(BATCH_MATMUL, { a: x, b: y }, {
      transposeA: tA,
      transposeB: tB,
    }) as tf.Tensor3D;
  const f = tf.customGrad((x, y, save) => {
    (save as tf.GradSaveFunc)([x as tf.Tensor, y as tf.Tensor]);
    return {
      value: product(x as tf.Tensor, y as tf.Tensor, transposeA, transposeB),
      gradFunc: (dy: tf.Tensor, [sx, sy]: tf.Tensor[]) => {
        // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC. C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A.
        // C = Aᵀ·B: dA = B·dCᵀ, dB = A·dC. Each with at most one flag, so each is fast too.
        if (transposeB) return [product(dy, sy, false, false), product(dy, sx, true, false)];
        if (transposeA) return [product(sy, dy, false, true), product(sx, dy, false, false)];
        return [product(dy, sy, false, true), product(sx, dy, true, false)];
      },
    };
  });
  return f(a, b) as tf.Tensor3D;
}
