/**
 * Backend selection: `auto | wasm | cpu | webgpu | tensorflow | tensorflow-gpu`.
 * Backends load lazily, so a missing optional package only matters when it is asked for.
 * `auto` prefers a real GPU — tensorflow-gpu when TensorFlow sees a CUDA device, then a hardware
 * WebGPU adapter — then native TensorFlow on the CPU, then the embedded wasm backend; it never
 * picks a software WebGPU adapter (Mesa llvmpipe and the like), which is slower than wasm.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError, unknownNameMessage } from "../errors.ts";
import { registerWasmTrainingKernels } from "./kernels/mod.ts";
import { KernelPool, loadOnSharedMemory, wasmSharedMemory } from "./kernels/wasm/threads.ts";
import { kernelThreads, setKernelPool } from "./kernels/wasm/runtime.ts";
import { type BackendName, BACKENDS } from "./names.ts";

/** The outcome of {@linkcode useBackend}. */
export interface BackendChoice {
  /** The backend now active. */
  name: Exclude<BackendName, "auto">;
  /** Why it was chosen (for `auto`: what was tried). */
  reason: string;
  /** Threads kt's kernels use (wasm; 1 elsewhere). */
  threads: number;
  /** The WebGPU adapter (webgpu only). */
  adapter?: WebGpuAdapterSummary;
}

/** What Deno's WebGPU adapter is, from its `GPUAdapterInfo`. */
export interface WebGpuAdapterSummary {
  /** The driver's description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or a GPU's name. */
  description: string;
  /** The vendor's name, when the adapter gives one. */
  vendor: string;
  /** The GPU architecture, when the adapter gives one. */
  architecture: string;
  /** The device, when the adapter gives one. */
  device: string;
  /** The adapter says it is a fallback adapter (`isFallbackAdapter`). */
  fallback: boolean;
  /** A CPU rasteriser (fallback adapter, llvmpipe, lavapipe, SwiftShader, ...), not a GPU. */
  software: boolean;
}

/** Names of CPU implementations of WebGPU/Vulkan/OpenGL that adapters report. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software|warp|cpu/i;

/**
 * Whether an adapter with this info is a software one: it says it is a fallback adapter, or its
 * description, device, vendor or architecture names a CPU rasteriser.
 *
 * @example
 * ```ts
 * import { isSoftwareAdapter } from "./select.ts";
 * console.log(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" })); // true
 * console.log(isSoftwareAdapter({ description: "NVIDIA H100 80GB HBM3", vendor: "nvidia" })); // false
 * ```
 */
export function isSoftwareAdapter(
  info: Partial<Omit<WebGpuAdapterSummary, "software">>,
): boolean {
  if (info.fallback) return true;
  return [info.description, info.device, info.vendor, info.architecture]
    .some((s) => s !== undefined && SOFTWARE_ADAPTER.test(s));
}

/** The parts of Deno's WebGPU API kt reads. */
interface GpuAdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}

/**
 * The WebGPU adapter this runtime offers tfjs (high-performance preference, as tfjs asks), or
 * undefined when there is no `navigator.gpu` or no adapter.
 */
export async function webgpuAdapter(): Promise<WebGpuAdapterSummary | undefined> {
  const gpu = (globalThis.navigator as {
    gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> };
  } | undefined)?.gpu;
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  const summary = {
    description: info.description ?? "",
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    fallback: info.isFallbackAdapter === true || adapter.isFallbackAdapter === true,
  };
  return { ...summary, software: isSoftwareAdapter(summary) };
}

/** One line naming an adapter: its description (or vendor/device) and whether it is software. */
export function adapterLabel(a: WebGpuAdapterSummary): string {
  const name = a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(" ") ||
    "unnamed adapter";
  return a.software ? `${name}, a software adapter` : name;
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

/** Whether tfjs-node (`tensorflow`) or tfjs-node-gpu with its native binding is installed. */
export function nodePackageInstalled(backend: "tensorflow" | "tensorflow-gpu"): boolean {
  return nativeBindingInstalled(NODE_PACKAGES[backend]);
}

/** The npm package behind a native backend. */
export function nodePackage(backend: "tensorflow" | "tensorflow-gpu"): string {
  return NODE_PACKAGES[backend];
}

/** Whether the package and its native binding are installed in the project's node_modules. */
function nativeBindingInstalled(pkg: string): boolean {
  const dir = new URL(`../../node_modules/${pkg}/lib/`, import.meta.url);
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

/** Whether the active tensorflow backend runs its ops on a GPU (tfjs-node-gpu with CUDA). */
export function tensorflowUsesGpu(): boolean {
  return tf.getBackend() === "tensorflow" &&
    (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
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

async function loadWebgpu(): Promise<WebGpuAdapterSummary> {
  if (!(globalThis.navigator as { gpu?: unknown } | undefined)?.gpu) {
    throw new KtError('backend "webgpu" is unavailable: this runtime exposes no navigator.gpu', {
      hint:
        "run kt with Deno 2 (it has WebGPU), or use backend: wasm; `deno task kt doctor` says more",
    });
  }
  const adapter = await webgpuAdapter();
  if (!adapter) {
    throw new KtError('backend "webgpu" is unavailable: Deno found no WebGPU adapter', {
      hint: "install a GPU driver with Vulkan (or Mesa for a software adapter), or use backend: " +
        "wasm; `deno task kt doctor` says what is missing",
    });
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) {
    throw new KtError(`backend "webgpu" failed to initialise on ${adapterLabel(adapter)}`, {
      hint: "use backend: wasm; `deno task kt doctor` says more",
    });
  }
  await tf.ready();
  return adapter;
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
 * Activates a backend. `auto` takes tensorflow-gpu when TensorFlow sees a GPU, then a hardware
 * WebGPU adapter, then tensorflow (CPU), then wasm, and reports why; never a software adapter.
 *
 * @example
 * ```ts
 * import { useBackend } from "./select.ts";
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
    case "webgpu": {
      const adapter = await loadWebgpu();
      return { name: "webgpu", reason: `requested; ${adapterLabel(adapter)}`, threads: 1, adapter };
    }
    case "tensorflow":
    case "tensorflow-gpu":
      await loadNode(backend);
      return {
        name: backend,
        reason: backend === "tensorflow-gpu" && !tensorflowUsesGpu()
          ? "requested, but TensorFlow found no usable GPU and runs on the CPU " +
            "(`deno task kt doctor` says why)"
          : "requested",
        threads: 1,
      };
    case "auto":
      return await useAuto(threads);
  }
}

/** `auto`: a real GPU first, never a software adapter (see {@linkcode useBackend}). */
async function useAuto(threads: number): Promise<BackendChoice> {
  const skipped: string[] = [];
  let tensorflowOnCpu: string | undefined;
  const gpuPkg = NODE_PACKAGES["tensorflow-gpu"];
  if (nativeBindingInstalled(gpuPkg)) {
    try {
      await loadNode("tensorflow-gpu");
      if (tensorflowUsesGpu()) {
        return { name: "tensorflow-gpu", reason: `auto: ${gpuPkg} runs on a GPU`, threads: 1 };
      }
      tensorflowOnCpu = gpuPkg;
      skipped.push(
        `${gpuPkg} found no usable GPU (CUDA 11.2 + cuDNN 8.1 libraries missing?) and runs on the CPU`,
      );
    } catch (err) {
      skipped.push(`${gpuPkg} failed to load (${(err as Error).message})`);
    }
  } else skipped.push(`${gpuPkg} not installed`);
  const adapter = await webgpuAdapter().catch(() => undefined);
  if (adapter && !adapter.software) {
    await loadWebgpu();
    return {
      name: "webgpu",
      reason: `auto: ${skipped.join(", ")}; WebGPU adapter ${adapterLabel(adapter)}`,
      threads: 1,
      adapter,
    };
  }
  skipped.push(adapter ? `WebGPU adapter ${adapterLabel(adapter)} skipped` : "no WebGPU adapter");
  if (tensorflowOnCpu) {
    await tf.setBackend("tensorflow");
    return {
      name: "tensorflow",
      reason: `auto: ${skipped.join(", ")}; using ${tensorflowOnCpu} on the CPU`,
      threads: 1,
    };
  }
  const cpuPkg = NODE_PACKAGES["tensorflow"];
  if (nativeBindingInstalled(cpuPkg)) {
    try {
      await loadNode("tensorflow");
      return {
        name: "tensorflow",
        reason: `auto: ${skipped.join(", ")}; ${cpuPkg} is installed`,
        threads: 1,
      };
    } catch (err) {
      skipped.push(`${cpuPkg} failed to load (${(err as Error).message})`);
    }
  } else skipped.push(`${cpuPkg} not installed`);
  await loadWasm(threads);
  return {
    name: "wasm",
    reason: `auto: ${skipped.join(", ")}; using the embedded wasm backend`,
    threads: kernelThreads(),
  };
}
