/**
 * Reading tensors back from the active backend. cpu, wasm and tensorflow read synchronously;
 * webgpu in Deno reads only asynchronously (its `dataSync()` needs an OffscreenCanvas, which Deno
 * lacks: DESIGN.md §3), and each read waits for the GPU's queue to drain, so training reads its
 * step losses there a batch of steps at a time ({@linkcode lossReadInterval}).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Backends whose reads must be awaited. */
const ASYNC_READ_BACKENDS: ReadonlySet<string> = new Set(["webgpu"]);

/** Steps between loss reads when reads are asynchronous (webgpu). */
export const ASYNC_LOSS_READ_INTERVAL = 16;

/**
 * Whether `backend` (default: the active one) reads synchronously.
 *
 * @example
 * ```ts
 * import { readsSynchronously } from "./reads.ts";
 * console.log(readsSynchronously("wasm"), readsSynchronously("webgpu")); // true false
 * ```
 */
export function readsSynchronously(backend: string = tf.getBackend()): boolean {
  return !ASYNC_READ_BACKENDS.has(backend);
}

/**
 * How many training steps' losses are read back at once on `backend` (default: the active one):
 * 1 (each step, as soon as it is computed) where reads are synchronous,
 * {@linkcode ASYNC_LOSS_READ_INTERVAL} where they are not.
 */
export function lossReadInterval(backend: string = tf.getBackend()): number {
  return readsSynchronously(backend) ? 1 : ASYNC_LOSS_READ_INTERVAL;
}

/**
 * The values of `t`: `dataSync()` where the active backend reads synchronously, one awaited read
 * elsewhere. Does not dispose `t`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { readValues } from "./reads.ts";
 * await tf.setBackend("cpu");
 * console.log(await readValues(tf.tensor1d([1, 2]))); // Float32Array [1, 2]
 * ```
 */
export function readValues(t: tf.Tensor): Promise<tf.TypedArray> {
  return readsSynchronously() ? Promise.resolve(t.dataSync() as tf.TypedArray) : t.data();
}

/**
 * The values of scalar tensors, in order: each with `dataSync()` where the active backend reads
 * synchronously, all in ONE awaited read (stacked) elsewhere. Does not dispose them.
 */
export async function readScalars(scalars: readonly tf.Tensor[]): Promise<number[]> {
  if (readsSynchronously()) return scalars.map((s) => s.dataSync()[0]);
  if (scalars.length === 0) return [];
  const stacked = tf.tidy(() => tf.stack(scalars.map((s) => tf.reshape(s, []))));
  try {
    return Array.from(await stacked.data());
  } finally {
    stacked.dispose();
  }
}
