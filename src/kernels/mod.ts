/**
 * Kernels kt registers on the wasm backend so it can train (see DESIGN.md §3).
 * @module
 */

/** Registers the training kernels the wasm backend lacks or runs slowly. Idempotent. */
export function registerWasmTrainingKernels(): void {
  // filled in by the kernels work
}
