/**
 * `KtAdamUpdate` (inputs value, m, v, gradient, a1 = 1−β1^t, a2 = 1−β2^t; attrs beta1, beta2,
 * epsilon, learningRate) → [value', m', v']: one fused pass for an Adam step that tfjs's
 * optimizer does in ~14 kernels per variable. Bit-identical to it (same float32 operations in the
 * same order; the tail past a multiple of 4 entries in JS with `Math.fround` after each
 * operation, which rounds exactly as float32 arithmetic does for +, −, ×, ÷ and √).
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs, WasmBackendLike } from "./_scope.ts";
import { adamModule } from "./wasm/adam.ts";
import { backendMemory, instantiate } from "./wasm/runtime.ts";

/** Kernel name. */
export const ADAM_UPDATE = "KtAdamUpdate";

type AdamRun = (...args: number[]) => void;

/** `KtAdamUpdate`. */
export function adamUpdate(args: KernelArgs): tf.TensorInfo[] {
  const { value, m, v, gradient, a1, a2 } = args.inputs;
  const attrs = args.attrs as {
    beta1: number;
    beta2: number;
    epsilon: number;
    learningRate: number;
  };
  const backend = args.backend as unknown as WasmBackendLike;
  const memory = backendMemory(args.backend);
  if (!memory) throw new Error("KtAdamUpdate needs the wasm backend's memory");
  const run = instantiate(memory, "adam", adamModule).run as AdamRun;
  const outs = [value, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  const f = Math.fround;
  // Scalars as tfjs makes them: float32 tensors of the JS numbers.
  const b1 = f(attrs.beta1);
  const omb1 = f(1 - attrs.beta1);
  const b2 = f(attrs.beta2);
  const omb2 = f(1 - attrs.beta2);
  const eps = f(attrs.epsilon);
  const negLr = f(-attrs.learningRate);
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [va1, va2] = [view(a1)[0], view(a2)[0]];
  const [vx, vm, vv, vg, ox, om, ov] = [value, m, v, gradient, ...outs].map(view);
  const n = vx.length;
  const n4 = n - (n % 4);
  run(
    vx.byteOffset,
    vm.byteOffset,
    vv.byteOffset,
    vg.byteOffset,
    ox.byteOffset,
    om.byteOffset,
    ov.byteOffset,
    n4,
    b1,
    omb1,
    b2,
    omb2,
    va1,
    va2,
    eps,
    negLr,
  );
  for (let i = n4; i < n; i++) {
    const g = vg[i];
    const nm = f(f(vm[i] * b1) + f(g * omb1));
    const nv = f(f(vv[i] * b2) + f(f(g * g) * omb2));
    om[i] = nm;
    ov[i] = nv;
    ox[i] = f(f(f(nm / va1) / f(f(Math.sqrt(f(nv / va2))) + eps)) * negLr) + vx[i];
  }
  return outs;
}
