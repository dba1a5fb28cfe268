/**
 * Backend selection: `auto | wasm | cpu | webgpu | tensorflow | tensorflow-gpu`.
 * Backends load lazily, so a missing optional package only matters when it is asked for.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError, unknownNameMessage } from "./errors.ts";
import { registerWasmTrainingKernels } from "./kernels/mod.ts";
import { KernelPool, loadOnSharedMemory, wasmSharedMemory } from "./kernels/wasm/threads.ts";
import { kernelThreads, setKernelPool } from "./kernels/wasm/runtime.ts";

/** Backend names a user may ask for. */
export const BACKENDS = ["auto", "wasm", "cpu", "webgpu", "tensorflow", "tensorflow-gpu"] as const;
/** A backend name. */
export type BackendName = typeof BACKENDS[number];

/** The outcome of {@linkcode useBackend}. */
export interface BackendChoice {
  /** The backend now active. */
  name: Exclude<BackendName, "auto">;
  /** Why it was chosen (for `auto`: what was tried). */
  reason: string;
  /** Threads kt's kernels use (wasm; 1 elsewhere). */
  threads: number;
}

const NODE_PACKAGES = {
  "tensorflow": "@tensorflow/tfjs-node",
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
} as const;

/** The command that installs a tfjs-node package with its native library. */
export function installCommand(backend: "tensorflow" | "tensorflow-gpu"): string {
  const pkg = NODE_PACKAGES[backend];
  return `deno add npm:${pkg}@4.22.0 && deno install --allow-scripts=npm:${pkg}`;
}

/** Whether the package and its native binding are installed in the project's node_modules. */
function nativeBindingInstalled(pkg: string): boolean {
  const dir = new URL(`../node_modules/${pkg}/lib/`, import.meta.url);
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.startsWith("napi-v")) {
        try {
          Deno.statSync(new URL(`${entry.name}/tfjs_binding.node`, dir));
          return true;
        } catch { /* try the next napi version */ }
      }
    }
  } catch { /* package absent */ }
  return false;
}

async function loadNode(backend: "tensorflow" | "tensorflow-gpu"): Promise<void> {
  const pkg = NODE_PACKAGES[backend];
  if (!nativeBindingInstalled(pkg)) {
    throw new KtError(
      `backend "${backend}" is unavailable: ${pkg} or its native library is not installed`,
      { hint: `install it with: ${installCommand(backend)}` },
    );
  }
  try {
    // A computed specifier keeps the optional package out of the module graph until asked for.
    const spec = `npm:${pkg}@4.22.0`;
    await import(spec);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new KtError(
      `backend "${backend}" is unavailable: ${pkg} could not be loaded (${detail})`,
      {
        hint: `install it with its native library: ${installCommand(backend)}`,
        cause: err,
      },
    );
  }
  await tf.setBackend("tensorflow");
  await tf.ready();
}

async function initWasm(): Promise<void> {
  await import("@tensorflow/tfjs-backend-wasm");
  if (!(await tf.setBackend("wasm"))) {
    throw new KtError("the wasm backend failed to initialise", {
      hint: "check that Deno may read node_modules (--allow-read)",
    });
  }
  await tf.ready();
}

/**
 * Loads the wasm backend; with `threads` > 1 on a shared memory, with a pool of kernel threads
 * (decided by the first load in a process: the memory cannot change afterwards).
 */
async function loadWasm(threads: number): Promise<void> {
  const first = !tf.findBackend("wasm");
  if (first && threads > 1) await loadOnSharedMemory(initWasm);
  else await initWasm();
  registerWasmTrainingKernels();
  const memory = wasmSharedMemory();
  if (memory && threads > 1 && kernelThreads() !== threads) {
    setKernelPool(await KernelPool.create(memory, threads));
  } else if (threads <= 1 && kernelThreads() > 1) {
    setKernelPool(undefined);
  }
}

async function loadCpu(): Promise<void> {
  await import("@tensorflow/tfjs-backend-cpu");
  await tf.setBackend("cpu");
  // The cpu backend prints an "install tfjs-node" banner on its first write; kt says that itself.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  await tf.ready();
}

async function loadWebgpu(): Promise<void> {
  // deno-lint-ignore no-explicit-any
  if (!(globalThis.navigator as any)?.gpu) {
    throw new KtError('backend "webgpu" is unavailable: this runtime exposes no navigator.gpu', {
      hint: "run with Deno on a machine with a WebGPU adapter, or use backend: wasm",
    });
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) {
    throw new KtError('backend "webgpu" failed to initialise (no adapter found)', {
      hint: "use backend: wasm",
    });
  }
  await tf.ready();
}

/** Options of {@linkcode useBackend}. */
export interface BackendOptions {
  /**
   * Threads for one training run on wasm (default 1): > 1 runs tfjs-wasm on a shared memory and
   * splits kt's kernels over that many threads. Results are the same for any thread count.
   */
  threads?: number;
}

/** Stops the kernel threads of {@linkcode useBackend} (so the process can exit). */
export function closeBackendThreads(): void {
  setKernelPool(undefined);
}

/**
 * Activates a backend. `auto` tries tensorflow-gpu, then tensorflow, then wasm, and reports why.
 *
 * @example
 * ```ts
 * import { useBackend } from "./backend.ts";
 * const choice = await useBackend("cpu");
 * console.log(choice.name); // "cpu"
 * ```
 */
export async function useBackend(
  name: string,
  options: BackendOptions = {},
): Promise<BackendChoice> {
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new KtError(unknownNameMessage("backend", name, BACKENDS), {
      hint: `choose one of: ${BACKENDS.join(", ")}`,
    });
  }
  const backend = name as BackendName;
  switch (backend) {
    case "wasm":
      await loadWasm(threads);
      return { name: "wasm", reason: "requested", threads: kernelThreads() };
    case "cpu":
      await loadCpu();
      return { name: "cpu", reason: "requested", threads: 1 };
    case "webgpu":
      await loadWebgpu();
      return { name: "webgpu", reason: "requested", threads: 1 };
    case "tensorflow":
    case "tensorflow-gpu":
      await loadNode(backend);
      return { name: backend, reason: "requested", threads: 1 };
    case "auto": {
      const skipped: string[] = [];
      for (const candidate of ["tensorflow-gpu", "tensorflow"] as const) {
        try {
          await loadNode(candidate);
          return {
            name: candidate,
            reason: `auto: ${NODE_PACKAGES[candidate]} is installed`,
            threads: 1,
          };
        } catch {
          skipped.push(`${NODE_PACKAGES[candidate]} not installed`);
        }
      }
      await loadWasm(threads);
      return {
        name: "wasm",
        reason: `auto: ${skipped.join(", ")}; using the embedded wasm backend`,
        threads: kernelThreads(),
      };
    }
  }
}
