import assert from "node:assert/strict";
import {
  CUDA_LIBRARIES,
  cudaWheelsCommand,
  diagnoseTensorflowGpu,
  diagnoseWebgpu,
  type DoctorReport,
  findLibrary,
  parseLdCache,
  parseNvidiaSmi,
  type TensorflowGpuFacts,
  versionAtLeast,
} from "./doctor.ts";

const H100 = { name: "NVIDIA H100 80GB HBM3", driver: "535.104.05", memory: "81559 MiB" };
const allLibraries = (found: (name: string) => boolean) =>
  CUDA_LIBRARIES.map(({ name }) => ({
    name,
    path: found(name) ? `/usr/local/cuda-11.2/lib64/${name}` : undefined,
  }));

Deno.test("diagnoseTensorflowGpu(): CUDA 12 only — runs on the CPU, names CUDA 11.2/cuDNN 8.1 and the ways to get them", () => {
  const facts: TensorflowGpuFacts = {
    installed: true,
    load: { usesGpu: false },
    driver: { status: "found", gpus: [H100] },
    libraries: allLibraries(() => false),
  };
  const d = diagnoseTensorflowGpu(facts);
  assert.equal(d.status, "cpu only");
  assert.equal(d.gpu, false);
  const text = [...d.facts, ...d.fixes].join("\n");
  assert.match(text, /GPU: NVIDIA H100 80GB HBM3, 81559 MiB, driver 535\.104\.05/);
  assert.match(text, /libcudart\.so\.11\.0: not found/);
  assert.match(text, /libcudnn\.so\.8: not found/);
  assert.match(text, /CUDA 11\.2 \+ cuDNN 8\.1/);
  assert.match(
    text,
    /pip install --target ~\/\.kt\/cuda11 nvidia-cuda-runtime-cu11 'nvidia-cudnn-cu11<9'/,
  );
  assert.match(text, /LD_LIBRARY_PATH=/);
  assert.match(text, /nvidia\/cuda:11\.2\.2-cudnn8-runtime/);
  assert.ok(!/install the NVIDIA driver/.test(text), "the driver is fine here");
});

Deno.test("diagnoseTensorflowGpu(): a working CUDA 11 machine is ok, on the GPU, with nothing to fix", () => {
  const d = diagnoseTensorflowGpu({
    installed: true,
    load: { usesGpu: true },
    driver: { status: "found", gpus: [H100] },
    libraries: allLibraries(() => true),
  });
  assert.equal(d.status, "ok");
  assert.equal(d.gpu, true);
  assert.deepEqual(d.fixes, []);
  assert.match(d.summary, /H100/);
});

Deno.test("diagnoseTensorflowGpu(): no driver, no package — says both, with the install command", () => {
  const d = diagnoseTensorflowGpu({
    installed: false,
    driver: { status: "missing" },
    libraries: allLibraries((n) => n !== "libcudnn.so.8"),
  });
  assert.equal(d.status, "missing");
  const text = [...d.facts, ...d.fixes].join("\n");
  assert.match(text, /no NVIDIA driver: nvidia-smi is not on the PATH/);
  assert.match(text, /install the NVIDIA driver/);
  assert.match(text, /deno install --allow-scripts=npm:@tensorflow\/tfjs-node-gpu/);
  // Only the missing library's wheel is named.
  assert.match(text, /missing: libcudnn\.so\.8\)/);
  assert.ok(!text.includes("nvidia-cuda-runtime-cu11"));
});

Deno.test("diagnoseTensorflowGpu(): an old driver and a forbidden nvidia-smi are named", () => {
  const old = diagnoseTensorflowGpu({
    installed: true,
    load: { usesGpu: false },
    driver: { status: "found", gpus: [{ ...H100, driver: "440.33.01" }] },
    libraries: allLibraries(() => true),
  });
  assert.match(old.facts.join("\n"), /driver 440\.33\.01 is older than 450\.80\.02/);
  assert.match(old.fixes.join("\n"), /update the NVIDIA driver to 450\.80\.02 or newer/);
  const forbidden = diagnoseTensorflowGpu({
    installed: false,
    driver: { status: "not permitted" },
    libraries: allLibraries(() => false),
  });
  assert.match(forbidden.facts.join("\n"), /kt may not run it: use `deno task kt doctor`/);
});

Deno.test("diagnoseWebgpu(): software, hardware and missing adapters", () => {
  const llvmpipe = {
    description: "llvmpipe (LLVM 15.0.6, 256 bits)",
    vendor: "65541",
    architecture: "",
    device: "0",
    fallback: true,
    software: true,
  };
  const base = { navigatorGpu: true, works: true as const, vulkanIcds: [], nvidiaGpu: false };
  const soft = diagnoseWebgpu({ ...base, adapter: llvmpipe });
  assert.equal(soft.status, "software");
  assert.equal(soft.gpu, false);
  assert.match(soft.facts.join("\n"), /adapter: llvmpipe.*fallback adapter: yes/);
  assert.match(soft.facts.join("\n"), /auto never picks it/);
  // An NVIDIA GPU is here but Deno sees only llvmpipe: the Vulkan route is the fix.
  const hidden = diagnoseWebgpu({ ...base, adapter: llvmpipe, nvidiaGpu: true });
  assert.match(
    hidden.fixes.join("\n"),
    /libvulkan1.*NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/,
  );
  const hard = diagnoseWebgpu({
    ...base,
    adapter: {
      ...llvmpipe,
      description: "NVIDIA H100",
      vendor: "nvidia",
      fallback: false,
      software: false,
    },
    vulkanIcds: ["/usr/share/vulkan/icd.d/nvidia_icd.json"],
  });
  assert.equal(hard.status, "ok");
  assert.equal(hard.gpu, true);
  const none = diagnoseWebgpu({ ...base, works: undefined, adapter: undefined });
  assert.equal(none.status, "missing");
  assert.match(none.fixes.join("\n"), /apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri/);
  const failing = diagnoseWebgpu({
    ...base,
    adapter: { ...llvmpipe, software: false },
    works: "boom",
  });
  assert.equal(failing.status, "missing");
  assert.match(failing.facts.join("\n"), /failed on it: boom/);
});

Deno.test("parseLdCache() reads the paths of a cache, and the real one lists libc", () => {
  const enc = new TextEncoder();
  const parts = [enc.encode("glibc-ld.so.cache1.1"), new Uint8Array([0, 1, 2, 0])];
  for (
    const s of ["libfoo.so.1", "/usr/lib/libfoo.so.1", "libcudnn.so.8", "/opt/cudnn/libcudnn.so.8"]
  ) {
    parts.push(enc.encode(s), new Uint8Array([0]));
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) bytes.set(p, (o += p.length) - p.length);
  assert.deepEqual(parseLdCache(bytes), ["/usr/lib/libfoo.so.1", "/opt/cudnn/libcudnn.so.8"]);
  let real: Uint8Array;
  try {
    real = Deno.readFileSync("/etc/ld.so.cache");
  } catch {
    return; // not glibc
  }
  assert.ok(parseLdCache(real).some((p) => p.endsWith("/libc.so.6")));
});

Deno.test("findLibrary() looks in LD_LIBRARY_PATH first, then the cache, and only at files that exist", () => {
  const here = new Set(["/wheels/cudnn/lib/libcudnn.so.8", "/usr/lib/libcudnn.so.8"]);
  const exists = (p: string) => here.has(p);
  const cache = ["/usr/lib/libcudnn.so.8", "/gone/libcudart.so.11.0"];
  assert.equal(
    findLibrary("libcudnn.so.8", cache, "/nope:/wheels/cudnn/lib/", exists),
    "/wheels/cudnn/lib/libcudnn.so.8",
  );
  assert.equal(findLibrary("libcudnn.so.8", cache, undefined, exists), "/usr/lib/libcudnn.so.8");
  assert.equal(findLibrary("libcudart.so.11.0", cache, "", exists), undefined);
});

Deno.test("parseNvidiaSmi(), versionAtLeast() and cudaWheelsCommand()", () => {
  assert.deepEqual(
    parseNvidiaSmi("NVIDIA H200, 550.54.15, 143771 MiB\nTesla T4, 470.82.01, 15360 MiB\n"),
    [
      { name: "NVIDIA H200", driver: "550.54.15", memory: "143771 MiB" },
      { name: "Tesla T4", driver: "470.82.01", memory: "15360 MiB" },
    ],
  );
  assert.equal(versionAtLeast("450.80.02", "450.80.02"), true);
  assert.equal(versionAtLeast("535.104.05", "450.80.02"), true);
  assert.equal(versionAtLeast("450.57", "450.80.02"), false);
  assert.equal(versionAtLeast("n/a", "450.80.02"), false);
  // One wheel for the two cuBLAS libraries.
  const cmd = cudaWheelsCommand(["libcublas.so.11", "libcublasLt.so.11"]);
  assert.equal(cmd.match(/nvidia-cublas-cu11/g)?.length, 1);
});

Deno.test("`deno task kt doctor --json` runs under the task's permissions and reports every backend", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const task: string = config.tasks.kt;
  assert.match(task, /--allow-run=[^ ]*nvidia-smi/);
  const flags = task.split(" ").filter((w) => w.startsWith("--allow-") || w === "--quiet");
  const main = new URL("../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, main, "doctor", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const report: DoctorReport = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(
    report.backends.map((b) => b.backend),
    ["wasm", "cpu", "webgpu", "tensorflow", "tensorflow-gpu"],
  );
  assert.equal(report.backends[0].status, "ok");
  const webgpu = report.backends[2];
  // auto never picks a software adapter.
  if (webgpu.status === "software") assert.notEqual(report.auto.name, "webgpu");
  assert.deepEqual(report.gpuBackends, report.backends.filter((b) => b.gpu).map((b) => b.backend));
});
