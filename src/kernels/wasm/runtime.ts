/**
 * Compiles and caches kt's generated kernels against the wasm backend's memory.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { encodeModule, FunctionBuilder } from "./encode.ts";

let relaxed: boolean | undefined;

/** Whether this runtime compiles relaxed-SIMD multiply-adds (checked once). */
export function relaxedSimdSupported(): boolean {
  if (relaxed === undefined) {
    const f = new FunctionBuilder([]);
    f.v128Zero().v128Zero().v128Zero().f32x4RelaxedMadd().op(0x1a); // drop
    try {
      relaxed = WebAssembly.validate(encodeModule([{ name: "probe", fn: f }]));
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

interface WasmBackendInternals {
  wasm?: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
}

/** The backend's `WebAssembly.Memory`, or undefined when this tfjs build does not expose it. */
export function backendMemory(backend: tf.KernelBackend): WebAssembly.Memory | undefined {
  const w = (backend as unknown as WasmBackendInternals).wasm;
  const m = w?.asm?.memory ?? w?.wasmMemory;
  return m instanceof WebAssembly.Memory ? m : undefined;
}

const cache = new WeakMap<WebAssembly.Memory, Map<string, WebAssembly.Exports>>();

/**
 * The exports of the module `build()` encodes, instantiated against `memory` and cached by `key`
 * (one compile per kernel shape and memory).
 */
export function instantiate(
  memory: WebAssembly.Memory,
  key: string,
  build: () => Uint8Array<ArrayBuffer>,
): WebAssembly.Exports {
  let modules = cache.get(memory);
  if (!modules) cache.set(memory, modules = new Map());
  let exports = modules.get(key);
  if (!exports) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(build()), {
      env: { memory },
    });
    exports = instance.exports;
    modules.set(key, exports);
  }
  return exports;
}
