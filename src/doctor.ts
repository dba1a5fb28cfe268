/**
 * `kt doctor`: for each backend, whether it loads on this machine, why not, and the exact fix;
 * which backends put a real GPU to work; and what `backend: auto` picks.
 *
 * It runs one program, `nvidia-smi` (the driver and its GPUs; the `kt` task may run it), and reads
 * everything else from files: the dynamic linker's cache `/etc/ld.so.cache` (what `ldconfig -p`
 * prints) and the `LD_LIBRARY_PATH` directories for the CUDA libraries, the Vulkan ICD
 * directories for WebGPU. The checks are pure functions of those facts ({@linkcode diagnoseTensorflowGpu},
 * {@linkcode diagnoseWebgpu}), tested on made-up machines; {@linkcode diagnose} gathers the facts.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  adapterLabel,
  installCommand,
  nodePackage,
  nodePackageInstalled,
  tensorflowUsesGpu,
  useBackend,
  webgpuAdapter,
  type WebGpuAdapterSummary,
} from "./backend/select.ts";
import { kernelThreads } from "./backend/kernels/wasm/runtime.ts";
import type { BackendName } from "./backend/names.ts";

/** How a backend fares here. */
export type BackendStatus = "ok" | "software" | "cpu only" | "missing";

/** One backend's diagnosis. */
export interface BackendDiagnosis {
  backend: Exclude<BackendName, "auto">;
  status: BackendStatus;
  /** A real GPU does the work (tensorflow-gpu on CUDA, webgpu on a hardware adapter). */
  gpu: boolean;
  /** One line: what it is here. */
  summary: string;
  /** What was found, one fact a line. */
  facts: string[];
  /** What to do, exact commands where there are some; empty when nothing is needed. */
  fixes: string[];
}

/** The whole report. */
export interface DoctorReport {
  platform: string;
  backends: BackendDiagnosis[];
  /** What `backend: auto` chose, and why. */
  auto: { name: string; reason: string };
  /** Backends that run on a GPU here (for `deno task bench --backends`). */
  gpuBackends: string[];
}

// ---------------------------------------------------------------- tensorflow-gpu

/**
 * The CUDA libraries libtensorflow 2.9 (inside `@tensorflow/tfjs-node-gpu` 4.22, built for CUDA
 * 11.2 + cuDNN 8.1) opens, and the NVIDIA pip wheel that ships each.
 */
export const CUDA_LIBRARIES: readonly { name: string; wheel: string }[] = [
  { name: "libcudart.so.11.0", wheel: "nvidia-cuda-runtime-cu11" },
  { name: "libcudnn.so.8", wheel: "nvidia-cudnn-cu11<9" },
  { name: "libcublas.so.11", wheel: "nvidia-cublas-cu11" },
  { name: "libcublasLt.so.11", wheel: "nvidia-cublas-cu11" },
  { name: "libcufft.so.10", wheel: "nvidia-cufft-cu11" },
  { name: "libcurand.so.10", wheel: "nvidia-curand-cu11" },
  { name: "libcusolver.so.11", wheel: "nvidia-cusolver-cu11" },
  { name: "libcusparse.so.11", wheel: "nvidia-cusparse-cu11" },
];

/** The oldest Linux driver that runs CUDA 11.x programs (minor-version compatibility). */
export const MIN_CUDA11_DRIVER = "450.80.02";

/** A GPU as `nvidia-smi` lists it. */
export interface NvidiaGpu {
  name: string;
  driver: string;
  memory: string;
}

/** What `nvidia-smi` said. */
export type DriverFacts =
  | { status: "found"; gpus: NvidiaGpu[] }
  | { status: "missing" }
  | { status: "not permitted" }
  | { status: "failed"; message: string };

/** Facts about tensorflow-gpu on this machine. */
export interface TensorflowGpuFacts {
  /** `@tensorflow/tfjs-node-gpu` and its native binding are installed. */
  installed: boolean;
  /** When installed: whether it loaded and TensorFlow sees a GPU, or why it did not load. */
  load?: { usesGpu: boolean } | { error: string };
  driver: DriverFacts;
  /** Each of {@linkcode CUDA_LIBRARIES} with where it was found. */
  libraries: { name: string; path?: string }[];
}

/**
 * Rows of `nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader`.
 *
 * @example
 * ```ts
 * import { parseNvidiaSmi } from "./doctor.ts";
 * console.log(parseNvidiaSmi("NVIDIA H200, 550.54.15, 143771 MiB\n"));
 * // [{ name: "NVIDIA H200", driver: "550.54.15", memory: "143771 MiB" }]
 * ```
 */
export function parseNvidiaSmi(csv: string): NvidiaGpu[] {
  return csv.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    const [name = "", driver = "", memory = ""] = line.split(",").map((s) => s.trim());
    return { name, driver, memory };
  });
}

/** Whether dotted version `v` is at least `min` (numeric parts compared in order). */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (Number.isNaN(x) || Number.isNaN(y)) return false;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * The shell commands (two lines) that install the CUDA 11 wheels holding the `missing` libraries
 * and put their directories on the library path.
 */
export function cudaWheelsCommand(missing: readonly string[]): string {
  const wheels = [
    ...new Set(
      CUDA_LIBRARIES.filter((l) => missing.includes(l.name)).map((l) => l.wheel),
    ),
  ].map((w) => (w.includes("<") ? `'${w}'` : w));
  return `python3 -m pip install --target ~/.kt/cuda11 ${wheels.join(" ")}\n    ` +
    `export LD_LIBRARY_PATH="$(printf '%s:' ~/.kt/cuda11/nvidia/*/lib)$LD_LIBRARY_PATH"`;
}

/** The container route to CUDA 11.2 + cuDNN 8. */
export const CUDA_CONTAINER =
  'docker run --gpus all -it -v "$PWD":/kt -w /kt nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 ' +
  "bash   (in it: install Node.js, then npx -y deno@2.9.6 task ...)";

/** What tensorflow-gpu can do here, and the fixes, from the facts. */
export function diagnoseTensorflowGpu(f: TensorflowGpuFacts): BackendDiagnosis {
  const pkg = nodePackage("tensorflow-gpu");
  const facts: string[] = [];
  const fixes: string[] = [];
  const requirement = "needs an NVIDIA GPU with a driver ≥ " + MIN_CUDA11_DRIVER +
    " and the CUDA 11.2 + cuDNN 8.1 runtime libraries: tfjs-node-gpu 4.22 wraps libtensorflow " +
    '2.9, and CUDA 12 libraries alone do not do (it then logs "Could not load dynamic library ' +
    "'libcudart.so.11.0'\" and runs on the CPU)";
  if (f.installed) facts.push(`${pkg} 4.22 is installed`);
  switch (f.driver.status) {
    case "found":
      if (f.driver.gpus.length === 0) facts.push("nvidia-smi ran but listed no GPU");
      for (const g of f.driver.gpus) {
        facts.push(`GPU: ${g.name}, ${g.memory}, driver ${g.driver} (nvidia-smi)`);
      }
      break;
    case "missing":
      facts.push("no NVIDIA driver: nvidia-smi is not on the PATH");
      break;
    case "not permitted":
      facts.push(
        "nvidia-smi is here but kt may not run it: use `deno task kt doctor` (its " +
          "--allow-run lists nvidia-smi)",
      );
      break;
    case "failed":
      facts.push(`nvidia-smi failed: ${f.driver.message}`);
      break;
  }
  const gpus = f.driver.status === "found" ? f.driver.gpus : [];
  const oldDriver = gpus.find((g) => !versionAtLeast(g.driver, MIN_CUDA11_DRIVER));
  if (oldDriver) {
    facts.push(
      `driver ${oldDriver.driver} is older than ${MIN_CUDA11_DRIVER}: it cannot run CUDA 11`,
    );
  }
  for (const lib of f.libraries) {
    facts.push(
      `${lib.name}: ${lib.path ?? "not found (searched the ld.so cache and LD_LIBRARY_PATH)"}`,
    );
  }
  const missing = f.libraries.filter((l) => !l.path).map((l) => l.name);
  const usesGpu = f.load !== undefined && "usesGpu" in f.load && f.load.usesGpu;
  if (f.load && "error" in f.load) facts.push(`${pkg} failed to load: ${f.load.error}`);
  if (f.load && "usesGpu" in f.load) {
    facts.push(
      f.load.usesGpu
        ? "TensorFlow runs on the GPU"
        : "TensorFlow loaded but found no usable GPU: it runs on the CPU",
    );
  }
  if (!usesGpu) {
    facts.push(requirement);
    if (f.driver.status === "missing" || (f.driver.status === "found" && gpus.length === 0)) {
      fixes.push(
        `install the NVIDIA driver (≥ ${MIN_CUDA11_DRIVER}); without a GPU and its driver ` +
          "there is no GPU backend: use wasm",
      );
    } else if (oldDriver) {
      fixes.push(`update the NVIDIA driver to ${MIN_CUDA11_DRIVER} or newer`);
    }
    if (missing.length > 0) {
      fixes.push(
        `the CUDA 11 libraries (missing: ${missing.join(", ")}), one of:\n` +
          `(a) NVIDIA's CUDA 11 wheels, no root needed:\n    ${cudaWheelsCommand(missing)}\n` +
          `(b) a container that has them:\n    ${CUDA_CONTAINER}\n` +
          "(c) NVIDIA's apt repository (then ldconfig):\n" +
          "    apt-get install cuda-libraries-11-2 'libcudnn8=8.1.*+cuda11.2'",
      );
    }
    if (!f.installed) {
      fixes.push(`install the package (needs network): ${installCommand("tensorflow-gpu")}`);
    }
    if (
      f.installed && f.load && "usesGpu" in f.load && missing.length === 0 && gpus.length > 0 &&
      !oldDriver
    ) {
      fixes.push(
        "the libraries and a GPU are here, yet TensorFlow does not use it: check that " +
          "CUDA_VISIBLE_DEVICES does not hide it and read TensorFlow's log lines above",
      );
    }
  }
  const status: BackendStatus = usesGpu
    ? "ok"
    : f.installed && f.load && "usesGpu" in f.load
    ? "cpu only"
    : "missing";
  const summary = usesGpu
    ? `native TensorFlow on ${gpus.map((g) => g.name).join(", ") || "the GPU"}`
    : status === "cpu only"
    ? `${pkg} loads but runs on the CPU`
    : f.installed
    ? `${pkg} does not load`
    : `${pkg} is not installed`;
  return { backend: "tensorflow-gpu", status, gpu: usesGpu, summary, facts, fixes };
}

// ---------------------------------------------------------------- webgpu

/** Facts about WebGPU on this machine. */
export interface WebgpuFacts {
  /** The runtime exposes `navigator.gpu`. */
  navigatorGpu: boolean;
  adapter?: WebGpuAdapterSummary;
  /** When there is an adapter: whether tfjs's webgpu backend computed on it, or its error. */
  works?: true | string;
  /** An NVIDIA GPU is here (nvidia-smi listed one). */
  nvidiaGpu: boolean;
  /** Vulkan ICD files (drivers Vulkan loaders find). */
  vulkanIcds: string[];
  /** Where the Vulkan loader libvulkan.so.1 is, if anywhere. */
  vulkanLoader?: string;
  /** DENO_WEBGPU_BACKEND, if set. */
  backendEnv?: string;
}

/** What webgpu can do here, and the fixes, from the facts. */
export function diagnoseWebgpu(f: WebgpuFacts): BackendDiagnosis {
  const facts: string[] = [];
  const fixes: string[] = [];
  const hardwareFix = f.nvidiaGpu
    ? "Deno reaches an NVIDIA GPU through Vulkan: install the Vulkan loader (apt-get install " +
      "libvulkan1) and the driver's Vulkan ICD (nvidia_icd.json in /usr/share/vulkan/icd.d or " +
      "/etc/vulkan/icd.d; in a container, NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics), " +
      "then check with: DENO_WEBGPU_BACKEND=vulkan deno task kt doctor"
    : "a hardware adapter needs a GPU with a Vulkan driver (on Linux: libvulkan1 and the " +
      "vendor's ICD)";
  if (f.backendEnv) facts.push(`DENO_WEBGPU_BACKEND=${f.backendEnv}`);
  facts.push(`Vulkan loader: ${f.vulkanLoader ?? "libvulkan.so.1 not found"}`);
  facts.push(`Vulkan ICDs: ${f.vulkanIcds.length > 0 ? f.vulkanIcds.join(", ") : "none"}`);
  if (!f.navigatorGpu) {
    fixes.push("run kt with Deno 2 (`deno task ...`), which has WebGPU");
    return {
      backend: "webgpu",
      status: "missing",
      gpu: false,
      summary: "this runtime has no navigator.gpu",
      facts,
      fixes,
    };
  }
  if (!f.adapter) {
    fixes.push(hardwareFix);
    fixes.push(
      "for a software adapter (tests only; slower than wasm): apt-get install libegl1 " +
        "libegl-mesa0 libgl1-mesa-dri",
    );
    return {
      backend: "webgpu",
      status: "missing",
      gpu: false,
      summary: "Deno found no WebGPU adapter",
      facts,
      fixes,
    };
  }
  const a = f.adapter;
  facts.unshift(
    `adapter: ${a.description || "(no description)"}; vendor ${a.vendor || "-"}, architecture ` +
      `${a.architecture || "-"}, device ${a.device || "-"}, fallback adapter: ${
        a.fallback ? "yes" : "no"
      }`,
  );
  if (f.works !== true) {
    facts.push(`tfjs's webgpu backend failed on it: ${f.works ?? "not tried"}`);
    fixes.push("use backend: wasm");
    return {
      backend: "webgpu",
      status: "missing",
      gpu: false,
      summary: `${adapterLabel(a)}: tfjs's webgpu backend fails on it`,
      facts,
      fixes,
    };
  }
  if (a.software) {
    facts.push(
      "a CPU rasteriser, not a GPU: kt trains on it correctly (tests/webgpu_test.ts) but slower " +
        "than on wasm; backend: auto never picks it",
    );
    fixes.push(hardwareFix);
    return {
      backend: "webgpu",
      status: "software",
      gpu: false,
      summary: adapterLabel(a),
      facts,
      fixes,
    };
  }
  return { backend: "webgpu", status: "ok", gpu: true, summary: adapterLabel(a), facts, fixes };
}

// ---------------------------------------------------------------- facts (effects)

/**
 * Absolute paths in a glibc `ld.so.cache` (old or new format): the NUL-terminated strings that
 * start with "/".
 */
export function parseLdCache(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (start < 0) {
      if (b === 0x2f && (i === 0 || bytes[i - 1] === 0)) start = i;
    } else if (b === 0) {
      out.push(new TextDecoder().decode(bytes.subarray(start, i)));
      start = -1;
    } else if (b < 0x20 || b > 0x7e) start = -1;
  }
  return out;
}

/**
 * Where the dynamic linker would find `name`: first the `LD_LIBRARY_PATH` directories (in order),
 * then the ld.so cache's paths. `exists` tells whether a file is there.
 */
export function findLibrary(
  name: string,
  cachePaths: readonly string[],
  libraryPath: string | undefined,
  exists: (path: string) => boolean,
): string | undefined {
  for (const dir of (libraryPath ?? "").split(":").filter(Boolean)) {
    const path = `${dir.replace(/\/+$/, "")}/${name}`;
    if (exists(path)) return path;
  }
  return cachePaths.find((p) => p.endsWith(`/${name}`) && exists(p));
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function ldCachePaths(): string[] {
  try {
    return parseLdCache(Deno.readFileSync("/etc/ld.so.cache"));
  } catch {
    return [];
  }
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Runs `nvidia-smi` for the GPUs and driver. */
export async function nvidiaSmi(): Promise<DriverFacts> {
  try {
    const out = await new Deno.Command("nvidia-smi", {
      args: ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim() || text.trim();
      return { status: "failed", message: err.split("\n")[0] || `exit code ${out.code}` };
    }
    return { status: "found", gpus: parseNvidiaSmi(text) };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { status: "missing" };
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return { status: "not permitted" };
    }
    return { status: "failed", message: (err as Error).message };
  }
}

function vulkanIcds(): string[] {
  const found: string[] = [];
  for (
    const dir of ["/etc/vulkan/icd.d", "/usr/share/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"]
  ) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.name.endsWith(".json")) found.push(`${dir}/${e.name}`);
      }
    } catch { /* no such directory */ }
  }
  return found;
}

async function loadsOn(backend: "tensorflow" | "tensorflow-gpu"): Promise<
  { usesGpu: boolean } | { error: string }
> {
  try {
    await useBackend(backend);
    return { usesGpu: tensorflowUsesGpu() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Gathers the facts, diagnoses every backend and asks `auto` what it picks. */
export async function diagnose(): Promise<DoctorReport> {
  const backends: BackendDiagnosis[] = [];
  const cores = navigator.hardwareConcurrency || 1;

  await useBackend("wasm", { threads: cores });
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  backends.push({
    backend: "wasm",
    status: "ok",
    gpu: false,
    summary: `embedded @tensorflow/tfjs-backend-wasm 4.22 with kt's training kernels` +
      `${simd ? ", SIMD" : ", no SIMD"}; up to ${kernelThreads()} kernel threads`,
    facts: [],
    fixes: [],
  });
  await useBackend("cpu");
  backends.push({
    backend: "cpu",
    status: "ok",
    gpu: false,
    summary: "tfjs's reference JavaScript backend (slow; kt checks its kernels against it)",
    facts: [],
    fixes: [],
  });

  const driver = await nvidiaSmi();
  let adapter: WebGpuAdapterSummary | undefined;
  let works: true | string | undefined;
  const navigatorGpu = !!(globalThis.navigator as { gpu?: unknown } | undefined)?.gpu;
  try {
    adapter = await webgpuAdapter();
  } catch (err) {
    works = (err as Error).message;
  }
  if (adapter) {
    try {
      await useBackend("webgpu");
      const sum = await tf.tidy(() => tf.sum(tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])))).data();
      works = sum[0] === 512 ? true : `a test matmul gave ${sum[0]}, not 512`;
    } catch (err) {
      works = (err as Error).message;
    }
  }
  const cache = ldCachePaths();
  const libraryPath = env("LD_LIBRARY_PATH");
  backends.push(diagnoseWebgpu({
    navigatorGpu,
    adapter,
    works,
    nvidiaGpu: driver.status === "found" && driver.gpus.length > 0,
    vulkanIcds: vulkanIcds(),
    vulkanLoader: findLibrary("libvulkan.so.1", cache, libraryPath, fileExists),
    backendEnv: env("DENO_WEBGPU_BACKEND"),
  }));

  const tfInstalled = nodePackageInstalled("tensorflow");
  const tfLoad = tfInstalled ? await loadsOn("tensorflow") : undefined;
  backends.push({
    backend: "tensorflow",
    status: tfLoad && "usesGpu" in tfLoad ? "ok" : "missing",
    gpu: false,
    summary: !tfInstalled
      ? `${nodePackage("tensorflow")} is not installed (native TensorFlow on the CPU)`
      : tfLoad && "usesGpu" in tfLoad
      ? "native TensorFlow on the CPU"
      : `${nodePackage("tensorflow")} does not load: ${(tfLoad as { error: string }).error}`,
    facts: [],
    fixes: tfLoad && "usesGpu" in tfLoad
      ? []
      : [`install it (needs network): ${installCommand("tensorflow")}`],
  });

  const gpuInstalled = nodePackageInstalled("tensorflow-gpu");
  backends.push(diagnoseTensorflowGpu({
    installed: gpuInstalled,
    load: gpuInstalled ? await loadsOn("tensorflow-gpu") : undefined,
    driver,
    libraries: CUDA_LIBRARIES.map(({ name }) => ({
      name,
      path: findLibrary(name, cache, libraryPath, fileExists),
    })),
  }));

  const auto = await useBackend("auto");
  return {
    platform: `${Deno.build.os} ${Deno.build.arch}, ${cores} cores, Deno ${Deno.version.deno}`,
    backends,
    auto: { name: auto.name, reason: auto.reason },
    gpuBackends: backends.filter((b) => b.gpu).map((b) => b.backend),
  };
}

/** The report as text for a terminal. */
export function formatDoctor(r: DoctorReport): string {
  const width = Math.max(...r.backends.map((b) => b.backend.length));
  const statusWidth = Math.max(...r.backends.map((b) => b.status.length));
  const lines = [`kt doctor: backends on this machine (${r.platform})`, ""];
  for (const b of r.backends) {
    lines.push(`${b.backend.padEnd(width)}  ${b.status.padEnd(statusWidth)}  ${b.summary}`);
    const indent = " ".repeat(width + statusWidth + 4);
    for (const f of b.facts) lines.push(`${indent}${f}`);
    b.fixes.forEach((f, i) => {
      const label = `${b.fixes.length > 1 ? `fix ${i + 1}` : "fix"}: `;
      const [first, ...rest] = f.split("\n");
      lines.push(`${indent}${label}${first}`);
      for (const line of rest) lines.push(`${indent}${" ".repeat(label.length)}${line}`);
    });
  }
  lines.push("");
  lines.push(`backend: auto → ${r.auto.name} (${r.auto.reason})`);
  lines.push(
    `GPU backends here: ${r.gpuBackends.length > 0 ? r.gpuBackends.join(", ") : "none"}`,
  );
  return lines.join("\n");
}
