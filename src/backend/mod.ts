/**
 * The backend: which tfjs backend runs ({@linkcode useBackend}: auto, wasm, cpu, webgpu,
 * tensorflow, tensorflow-gpu), the layers whose training step runs kt's fused kernels
 * ({@linkcode conv2d}, {@linkcode batchNormalization}), batched matrix products for losses
 * ({@linkcode batchMatMul}), the optimizer with a fused update
 * ({@linkcode KtAdamOptimizer}), and under `kernels/` the wasm kernels kt registers. Reading
 * tensors back (`reads.ts`) and the bare backend names (`names.ts`, no tfjs) live here too.
 *
 * @example
 * ```ts
 * import { BACKENDS, useBackend } from "./mod.ts";
 * const choice = await useBackend("cpu");
 * console.log(BACKENDS.includes(choice.name)); // true
 * ```
 * @module
 */
export { type BackendName, BACKENDS } from "./names.ts";
export { type BackendChoice, installCommand, useBackend } from "./select.ts";
export {
  batchNormalization,
  type BatchNormArgs,
  KtBatchNormalization,
} from "./batch_norm_layer.ts";
export { conv2d, type Conv2DArgs, KtConv2D } from "./conv_layer.ts";
export { batchMatMul } from "./batch_matmul.ts";
export { type GradientList, KtAdamOptimizer } from "./adam.ts";
