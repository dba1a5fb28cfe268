/**
 * Private helpers for composing wasm kernels out of the backend's own kernels.
 *
 * A kernel function receives `TensorInfo`s, not `Tensor`s, and must not create engine-tracked
 * tensors; so composite kernels call other kernel functions directly (as the stock backends do)
 * and free every intermediate with `backend.disposeData`. {@linkcode KernelScope} does that
 * bookkeeping.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The parts of the wasm backend (`BackendWasm`) that kt's kernels use. */
export interface WasmBackendLike {
  /** Drops one reference to `dataId`; frees the memory when none is left. */
  disposeData(dataId: object, force?: boolean): boolean;
  /** Adds one reference to `dataId`. */
  incRef(dataId: object): void;
  /** Allocates an uninitialised output on the wasm heap. */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A live view of a tensor's memory on the wasm heap (invalid after the heap grows). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Kernels kt replaced, by name: the stock kernel functions, kept to be called internally. */
export const originalKernels: Map<string, tf.KernelFunc> = new Map();

/** The stock wasm kernel function `name` (the original when kt replaced it). */
export function wasmKernel(name: string): tf.KernelFunc {
  const original = originalKernels.get(name);
  if (original) return original;
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`kt kernels: the wasm backend has no "${name}" kernel`);
  return config.kernelFunc;
}

/** The arguments every kernel function receives. */
export interface KernelArgs {
  /** Named inputs. */
  inputs: Record<string, tf.TensorInfo>;
  /** The kernel's attributes. */
  attrs?: tf.NamedAttrMap;
  /** The backend running the kernel. */
  backend: tf.KernelBackend;
}

/**
 * Runs wasm kernels on `TensorInfo`s and remembers every output, so that {@linkcode finish}
 * frees all intermediates but the result (and {@linkcode abandon} frees all on error).
 */
export class KernelScope {
  readonly backend: WasmBackendLike;
  readonly #made: tf.TensorInfo[] = [];

  constructor(backend: tf.KernelBackend) {
    this.backend = backend as unknown as WasmBackendLike;
    this.kernelBackend = backend;
  }

  /** The backend as the kernel functions expect it. */
  readonly kernelBackend: tf.KernelBackend;

  /** Runs the stock wasm kernel `name`; its output is freed by {@linkcode finish}. */
  run(
    name: string,
    inputs: Record<string, tf.TensorInfo>,
    attrs: tf.NamedAttrMap = {},
  ): tf.TensorInfo {
    const out = wasmKernel(name)({ inputs, attrs, backend: this.kernelBackend }) as tf.TensorInfo;
    this.#made.push(out);
    return out;
  }

  /** Registers an output this scope did not make through {@linkcode run} (e.g. `makeOutput`). */
  track(info: tf.TensorInfo): tf.TensorInfo {
    this.#made.push(info);
    return info;
  }

  /** `x` with axes permuted; no kernel call when `perm` is the identity. */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    if (perm.every((p, i) => p === i)) return x;
    return this.run("Transpose", { x }, { perm });
  }

  /** `x` viewed with another shape (shares memory). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run("Reshape", { x }, { shape });
  }

  /** Sum over `axis`. */
  sum(x: tf.TensorInfo, axis: number[]): tf.TensorInfo {
    return this.run("Sum", { x }, { axis, keepDims: false });
  }

  /**
   * Pads with zeros (positive amounts) or crops (negative amounts) each axis:
   * `amounts[i] = [before, after]`. No kernel call when every amount is zero.
   */
  padOrCrop(x: tf.TensorInfo, amounts: Array<[number, number]>): tf.TensorInfo {
    let out = x;
    if (amounts.some(([b, a]) => b < 0 || a < 0)) {
      const begin = amounts.map(([b]) => Math.max(0, -b));
      const size = x.shape.map((d, i) => d - begin[i] - Math.max(0, -amounts[i][1]));
      out = this.run("Slice", { x: out }, { begin, size });
    }
    if (amounts.some(([b, a]) => b > 0 || a > 0)) {
      const paddings = amounts.map(([b, a]) => [Math.max(0, b), Math.max(0, a)]);
      out = this.run("PadV2", { x: out }, { paddings, constantValue: 0 });
    }
    return out;
  }

  /**
   * Inserts `sh - 1` zero rows after every row and `sw - 1` zero columns after every column
   * of an NHWC tensor: [N, H, W, C] → [N, H·sh, W·sw, C].
   */
  spread(x: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
    if (sh === 1 && sw === 1) return x;
    const [n, h, w, c] = x.shape;
    const six = this.reshape(x, [n, h, 1, w, 1, c]);
    const padded = this.padOrCrop(six, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    return this.reshape(padded, [n, h * sh, w * sw, c]);
  }

  /**
   * Frees every intermediate except `result` and returns `result`; when `result` is one of the
   * kernel's inputs, it gains a reference, since the engine will own it as a new output.
   */
  finish(result: tf.TensorInfo): tf.TensorInfo {
    if (!this.#made.includes(result)) this.backend.incRef(result.dataId);
    for (const info of this.#made) {
      if (info !== result) this.backend.disposeData(info.dataId);
    }
    this.#made.length = 0;
    return result;
  }

  /** Frees every intermediate (after an error). */
  abandon(): void {
    for (const info of this.#made) this.backend.disposeData(info.dataId);
    this.#made.length = 0;
  }
}

/**
 * Runs `body` with a fresh {@linkcode KernelScope}; the returned info survives, every other
 * output made in the scope is freed, also when `body` throws.
 */
export function withScope(
  backend: tf.KernelBackend,
  body: (scope: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.finish(body(scope));
  } catch (err) {
    scope.abandon();
    throw err;
  }
}

/** `[a, a]` for a number, the pair itself otherwise. */
export function pair(v: number | [number, number] | undefined, fallback = 1): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === "number" ? [v, v] : v;
}
