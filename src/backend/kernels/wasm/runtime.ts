/**
 * Compiles and caches kt's generated kernels against the wasm backend's memory.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { encodeModule, FunctionBuilder, setSharedMemoryImports } from "./encode.ts";
import type { KernelPool } from "./threads.ts";

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

/** `build()` with its memory import shared when `memory` is. */
function buildFor(
  memory: WebAssembly.Memory,
  build: () => Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> {
  setSharedMemoryImports(memory.buffer instanceof SharedArrayBuffer);
  try {
    return build();
  } finally {
    setSharedMemoryImports(false);
  }
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
    const bytes = buildFor(memory, build);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    exports = instance.exports;
    modules.set(key, exports);
  }
  return exports;
}

let pool: KernelPool | undefined;

/** Makes `p` the pool that runs kernel parts (undefined: everything on the calling thread). */
export function setKernelPool(p: KernelPool | undefined): void {
  pool?.close();
  pool = p;
}

/** Threads kernel parts run on (1 without a pool). */
export function kernelThreads(): number {
  return pool?.threads ?? 1;
}

/**
 * Runs export `fn` of module `key` once per entry of `parts` (each its i32 arguments): on the
 * pool's threads at once when there is a pool for `memory`, else one after another here.
 */
export function runParts(
  memory: WebAssembly.Memory,
  key: string,
  build: () => Uint8Array<ArrayBuffer>,
  fn: string,
  parts: number[][],
): void {
  if (pool && memory.buffer instanceof SharedArrayBuffer) {
    pool.run(pool.module(key, () => buildFor(memory, build)), fn, parts);
    return;
  }
  const f = instantiate(memory, key, build)[fn] as (...a: number[]) => void;
  for (const args of parts) f(...args);
}

/**
 * How many parts to split `items` units of work into: one per kernel thread, but none smaller
 * than `minPerPart` (waking a thread costs ~50 µs, more than a small part saves).
 */
export function partsFor(items: number, minPerPart: number): number {
  return Math.max(1, Math.min(kernelThreads(), Math.floor(items / minPerPart)));
}

/** [start, count] of `parts` near-equal consecutive pieces of `n` items (some may be empty). */
export function splitRange(n: number, parts: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let k = 0; k < parts; k++) {
    const start = Math.floor((n * k) / parts);
    out.push([start, Math.floor((n * (k + 1)) / parts) - start]);
  }
  return out;
}
