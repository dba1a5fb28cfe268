/**
 * `deno task bench [--json] [--backends wasm,cpu] [--quick] [--pytorch] [--rounds N] [--steps N]`:
 * training throughput of the reference models per backend, matMul GFLOP/s, retrieval and cache timings, printed as a
 * table with the reference figures of DESIGN.md §3 beside them as ratios. `--pytorch` runs
 * `bench/reference_pytorch.py` (python3 with torch, e.g. Debian's python3-torch) on this machine,
 * alternating with kt's measurements of the same models `--rounds` times (default 3), and reports
 * the median and range of both and the ratio of the medians. `--json` prints one JSON object on
 * the last line (medians of the first backend; `*_runs` lists every run; `pytorch_*` keys).
 *
 * Each training figure is timed over `--steps` steps of batch 128 (default 300, about 5 s on the
 * 2-core machine; the same number of samples at batches 32 and 512), on both sides of the
 * comparison: timed over 30–60 steps (< 1 s), PyTorch's figures spread by up to 6× between runs.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { type BackendChoice, closeBackendThreads, useBackend } from "../src/backend/select.ts";
import cnn from "../plugins/models/cnn.ts";
import { cases, synthetic, trainingThroughput } from "./training_cases.ts";
import { extractFeatures } from "../src/model.ts";
import { openCache } from "../src/cache.ts";
import { benchRetrieval } from "./retrieval_bench.ts";
import { readValues } from "../src/backend/reads.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    backends: { type: "string", default: "wasm" },
    quick: { type: "boolean", default: false },
    pytorch: { type: "boolean", default: false },
    rounds: { type: "string" },
    steps: { type: "string" },
  },
});

/** Reference figures (samples/s or seconds) measured on the 2-core dev machine (DESIGN.md §3). */
const REFERENCE = {
  retrieval_10k_60k_s: { value: 82, what: "numpy full sort per query" },
  mnist_cnn_samples_per_s: { value: 2081, what: "PyTorch CPU, 2 threads" },
  mlp_samples_per_s: { value: 8851, what: "PyTorch CPU, 2 threads" },
};

/** Runs bench/reference_pytorch.py (2 threads) and returns its JSON figures. */
async function measurePytorch(
  quick: boolean,
  steps: number,
): Promise<Record<string, number | string>> {
  const script = new URL("./reference_pytorch.py", import.meta.url).pathname;
  const candidates = [Deno.env.get("KT_PYTHON"), "/usr/bin/python3", "python3"]
    .filter((p): p is string => !!p);
  const errors: string[] = [];
  for (const python of candidates) {
    try {
      const flags = quick ? ["--steps", "8", "--no-retrieval"] : ["--steps", String(steps)];
      const out = await new Deno.Command(python, {
        args: [script, "--json", "--threads", "2", ...flags],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      if (out.success) return JSON.parse(text.slice(text.lastIndexOf("\n") + 1));
      errors.push(`${python}: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`);
    } catch (err) {
      errors.push(`${python}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    `--pytorch: no python3 with torch ran the reference (${errors.join("; ")}); ` +
      "install it (apt-get install python3-torch) or set KT_PYTHON",
  );
}

/**
 * Trains `trials` copies of one model at once, each in its own worker (its own tfjs and wasm
 * instance, as sweep workers are), and returns the sum of their samples/s.
 */
async function parallelTrials(
  backend: string,
  key: string,
  trials: number,
  steps: number,
): Promise<number> {
  const workers = Array.from(
    { length: trials },
    () => new Worker(new URL("./throughput_worker.ts", import.meta.url).href, { type: "module" }),
  );
  try {
    const results = await Promise.all(workers.map((w) =>
      new Promise<number>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<{ samplesPerSecond?: number; error?: string }>) =>
          e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.samplesPerSecond!);
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage({ backend, key, batch: 128, steps });
      })
    ));
    return results.reduce((a, b) => a + b, 0);
  } finally {
    for (const w of workers) w.terminate();
  }
}

/** matMul 512×512 GFLOP/s on the current backend. */
export async function matmulGflops(n = 512, reps = 20): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
  const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
  // Not inside tf.tidy: tidy would walk the returned array. The read forces the computation
  // (dataSync where the backend can; an awaited read on webgpu).
  const run = async () => {
    const c = tf.matMul(a, b);
    await readValues(c);
    c.dispose();
  };
  await run();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  const seconds = (performance.now() - t0) / 1000;
  a.dispose();
  b.dispose();
  return (2 * n ** 3 * reps) / seconds / 1e9;
}

/** Seconds to extract teacher features for `n` MNIST-sized samples vs reading them from the cache. */
export async function cacheBench(n: number): Promise<{ extract: number; hit: number }> {
  const teacher = cnn.build(cnn.options.parse({ filters: [32, 64, 128], dense: [256] }), {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 0,
  });
  const data = synthetic(n, [28, 28, 1], 3);
  const t0 = performance.now();
  const table = await extractFeatures(teacher, data, "representation");
  const extract = (performance.now() - t0) / 1000;
  teacher.net.dispose();
  const dir = await Deno.makeTempDir();
  try {
    const cache = await openCache(dir);
    await cache.put("f".repeat(64), { "features.f32": table }, { plugin: "bench" });
    const t1 = performance.now();
    const artifact = await (await openCache(dir)).get("f".repeat(64));
    const back = await artifact!.readFeatureTable("features.f32");
    const hit = (performance.now() - t1) / 1000;
    if (back.values.length !== table.values.length) throw new Error("cache round trip lost data");
    return { extract, hit };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** `median (min–max, n runs)` of repeated measurements, with `digits` decimals. */
export function spread(values: readonly number[], digits = 0): string {
  const f = (x: number) => x.toFixed(digits);
  if (values.length === 1) return f(values[0]);
  return `${f(median(values))} (${f(Math.min(...values))}–${
    f(Math.max(...values))
  }, ${values.length} runs)`;
}

/** What the kt side measures in every round against PyTorch (keys of reference_pytorch.py). */
const COMPARED: { key: string; label: string; batch: string; higherIsBetter: boolean }[] = [
  ...cases.map((c) => ({
    key: c.key as string,
    label: c.label,
    batch: "128",
    higherIsBetter: true,
  })),
  ...[32, 512].map((b) => ({
    key: `mnist_cnn_batch${b}_samples_per_s`,
    label: cases[0].label,
    batch: String(b),
    higherIsBetter: true,
  })),
  {
    key: "retrieval_10k_60k_s",
    label: "retrieval 10k queries × 60k database × 64-d",
    batch: "-",
    higherIsBetter: false,
  },
];

/** One round of kt's side of the comparison on the current backend. */
async function measureCompared(
  quick: boolean,
  backend: string,
  software: boolean,
): Promise<Record<string, number>> {
  const steps = stepsFor(backend, quick, software);
  const out: Record<string, number> = {};
  for (const c of cases) out[c.key] = await trainingThroughput(c, 128, steps);
  for (const batch of [32, 512]) {
    out[`mnist_cnn_batch${batch}_samples_per_s`] = await trainingThroughput(
      cases[0],
      batch,
      quick || software ? 2 : Math.max(4, Math.round((steps * 128) / batch)),
    );
  }
  if (!quick) out.retrieval_10k_60k_s = await benchRetrieval(10000, 60000, 64);
  return out;
}

/**
 * Timed steps per measurement: `--steps` (default 300), but 2 on the cpu backend and 3 on a
 * software WebGPU adapter (seconds a step), 4 with --quick.
 */
function stepsFor(backend: string, quick: boolean, software = false): number {
  return quick ? 4 : backend === "cpu" ? 2 : software ? 3 : timedSteps;
}

/** The backend as a row names it: a WebGPU adapter's name, and "software" when it is one. */
function backendLabel(choice: BackendChoice): string {
  if (!choice.adapter) return choice.name;
  const a = choice.adapter;
  const name = a.description || a.vendor || "adapter";
  return `${choice.name} (${a.software ? `software: ${name}` : name})`;
}

const json: Record<string, number | string> = {};
const rows: string[][] = [];
const backends = args.backends.split(",").map((b) => b.trim());
const cores = navigator.hardwareConcurrency || 1;
const rounds = Math.max(1, Number(args.rounds ?? (args.pytorch ? 3 : 1)));
if (!Number.isInteger(rounds)) {
  throw new Error(`--rounds must be a whole number, got ${args.rounds}`);
}
const timedSteps = Number(args.steps ?? 300);
if (!Number.isInteger(timedSteps) || timedSteps < 1) {
  throw new Error(`--steps must be a whole number ≥ 1, got ${args.steps}`);
}

// The rows compared with PyTorch: kt and PyTorch alternate, `rounds` times each, on the first
// backend, so a slow phase of the machine hits both; medians and ranges are reported.
const ktRuns: Record<string, number[]> = {};
const torchRuns: Record<string, number[]> = {};
let torchInfo: Record<string, number | string> | undefined;
{
  const choice = await useBackend(backends[0], { threads: cores });
  json.backend = choice.name;
  json.backend_label = backendLabel(choice);
  json.threads = choice.threads;
  const software = choice.adapter?.software ?? false;
  for (let r = 0; r < rounds; r++) {
    for (const [k, v] of Object.entries(await measureCompared(args.quick, backends[0], software))) {
      (ktRuns[k] ??= []).push(v);
    }
    if (args.pytorch) {
      torchInfo = await measurePytorch(args.quick, stepsFor(backends[0], false, software));
      for (const [k, v] of Object.entries(torchInfo)) {
        if (typeof v === "number" && k !== "threads") (torchRuns[k] ??= []).push(v);
      }
    }
  }
}
for (const [k, v] of Object.entries(ktRuns)) {
  json[k] = k.includes("per_s") ? Math.round(median(v)) : Number(median(v).toFixed(3));
  if (v.length > 1) json[`${k}_runs`] = v.map((x) => Number(x.toFixed(3))).join(",");
}
for (const [k, v] of Object.entries(torchRuns)) {
  json[`pytorch_${k}`] = k.includes("per_s") ? Math.round(median(v)) : Number(median(v).toFixed(3));
  if (v.length > 1) json[`pytorch_${k}_runs`] = v.map((x) => Number(x.toFixed(3))).join(",");
}
if (torchInfo) json.pytorch_torch = torchInfo.torch;

/** A table row; `key` picks the reference figures; `higherIsBetter` for rates vs times. */
function row(
  backend: string,
  label: string,
  batch: string,
  value: number,
  shown: string,
  key?: string,
  higherIsBetter = true,
): void {
  const ratio = (ref: number, than = "") =>
    higherIsBetter ? `${(value / ref).toFixed(2)}×` : `${(ref / value).toFixed(1)}× faster${than}`;
  const runs = key ? torchRuns[key] : undefined;
  // DESIGN.md's figures were measured on another day; a row measured against PyTorch here and now
  // shows only that comparison.
  const fixed = key && !runs ? REFERENCE[key as keyof typeof REFERENCE] : undefined;
  const cells = [
    backend,
    label,
    batch,
    shown,
    fixed
      ? `${ratio(fixed.value, " than")} ${fixed.what} (${fixed.value}${higherIsBetter ? "" : " s"})`
      : "",
  ];
  if (args.pytorch) {
    // Ratios of medians only; the PyTorch spread beside it.
    cells.push(
      runs
        ? `${ratio(median(runs))} (${spread(runs, higherIsBetter ? 0 : 1)}${
          higherIsBetter ? "" : " s"
        })`
        : "",
    );
  }
  rows.push(cells);
}

for (const c of COMPARED) {
  const v = ktRuns[c.key];
  if (!v) continue;
  row(
    json.backend_label as string,
    c.label,
    c.batch,
    median(v),
    c.higherIsBetter ? spread(v) : `${spread(v, 2)} s`,
    c.key,
    c.higherIsBetter,
  );
}

for (const [i, backend] of backends.entries()) {
  // One training run may use every core (kernel threads); sweeps split cores between jobs.
  const choice = await useBackend(backend, { threads: cores });
  const label = backendLabel(choice);
  const steps = stepsFor(backend, args.quick, choice.adapter?.software);
  if (i > 0) {
    for (const c of cases) {
      const sps = await trainingThroughput(c, 128, steps);
      row(label, c.label, "128", sps, sps.toFixed(0));
    }
  }
  const gflops = await matmulGflops(512, args.quick || choice.adapter?.software ? 3 : 20);
  row(label, "matMul 512×512×512", "-", gflops, `${gflops.toFixed(2)} GFLOP/s`);
  if (i === 0) json.matmul512_gflops = Number(gflops.toFixed(3));
  if (i > 0) continue;
  // The same model on one kernel thread (as each job of a sweep running one job per core), then
  // two trials at once, each in its own worker, as a sweep runs one worker per core. A backend
  // that does not load in a worker gets a row saying so.
  for (
    const [trials, what] of [[1, "1 kernel thread"], [
      2,
      "2 trials at once (one worker each): sum",
    ]] as const
  ) {
    const name = `${cases[0].label}, ${what}`;
    try {
      const sps = await parallelTrials(backend, cases[0].key, trials, args.quick ? 4 : timedSteps);
      row(label, name, "128", sps, sps.toFixed(0));
      json[trials === 1 ? "mnist_cnn_1_thread_samples_per_s" : "mnist_cnn_2_trials_samples_per_s"] =
        Math.round(sps);
    } catch (err) {
      rows.push([
        label,
        name,
        "128",
        "failed",
        (err as Error).message.slice(0, 80),
        ...(args.pytorch ? [""] : []),
      ]);
    }
  }
  // Retrieval evaluation: 10k queries × 64-d against smaller databases (60k: compared above).
  for (const nd of args.quick ? [1000, 10000] : [1000, 10000]) {
    const seconds = await benchRetrieval(10000, nd, 64);
    const what = `retrieval 10k queries × ${nd / 1000}k database × 64-d`;
    row(label, what, "-", seconds, `${seconds.toFixed(2)} s`, undefined, false);
  }
  // Teacher features: extraction vs a cache hit (60k MNIST-sized samples, teacher conv32-64-128 fc256).
  const { extract, hit } = await cacheBench(args.quick ? 5000 : 60000);
  row(
    label,
    `teacher features, ${args.quick ? "5k" : "60k"} samples: extract`,
    "-",
    extract,
    `${extract.toFixed(2)} s`,
  );
  rows.push([
    label,
    "teacher features: cache hit (read + verify)",
    "-",
    `${hit.toFixed(3)} s`,
    `${(extract / hit).toFixed(0)}× faster than extraction`,
    ...(args.pytorch ? [""] : []),
  ]);
  json.cache_extract_s = Number(extract.toFixed(3));
  json.cache_hit_s = Number(hit.toFixed(4));
}

const header = ["backend", "benchmark", "batch", "samples/s", "vs reference (DESIGN.md)"];
console.log(
  `kernel threads: ${json.backend === "wasm" ? cores : 1} for single runs (rows without a note); ` +
    (rounds > 1
      ? `${rounds} alternating rounds${args.pytorch ? " of kt and PyTorch" : ""}: median (range)`
      : "one round"),
);
if (args.pytorch) {
  header.push(
    `vs PyTorch ${torchInfo?.torch}, ${torchInfo?.threads} threads: ratio of medians (PyTorch median, range)`,
  );
}
const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
const line = (r: string[]) => "| " + r.map((c, k) => c.padEnd(widths[k])).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));
if (args.json) console.log(JSON.stringify(json));
closeBackendThreads();
