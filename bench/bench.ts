/**
 * `deno task bench [--json] [--backends wasm,cpu] [--quick]`: training throughput of the reference
 * models per backend, matMul GFLOP/s, and (when available) retrieval and cache timings, printed as
 * a table with the reference figures measured on the 2-core dev machine beside them as ratios.
 * `--json` prints one JSON object on the last line (default backend figures).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { useBackend } from "../src/backend.ts";
import { trainModel } from "../src/train.ts";
import type { Dataset } from "../src/data.ts";
import type { KtModel } from "../src/api.ts";
import { createRng } from "../src/rng.ts";
import cnn from "../plugins/models/cnn.ts";
import mlp from "../plugins/models/mlp.ts";
import { extractFeatures } from "../src/model.ts";
import { openCache } from "../src/cache.ts";
import { benchRetrieval } from "./retrieval_bench.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    backends: { type: "string", default: "wasm" },
    quick: { type: "boolean", default: false },
  },
});

/** Reference figures (samples/s or seconds) measured on the 2-core dev machine (DESIGN.md §3). */
const REFERENCE = {
  retrieval_10k_60k_s: { value: 82, what: "numpy full sort per query" },
  mnist_cnn_samples_per_s: { value: 2081, what: "PyTorch CPU, 2 threads" },
  mlp_samples_per_s: { value: 8851, what: "PyTorch CPU, 2 threads" },
};

function synthetic(n: number, shape: [number, number, number], seed: number): Dataset {
  const rng = createRng(seed);
  const d = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { name: "synthetic", x, y, shape, size: n, numClasses: 10 };
}

interface ModelCase {
  key: "mnist_cnn_samples_per_s" | "mlp_samples_per_s" | "tiny_student_samples_per_s";
  label: string;
  shape: [number, number, number];
  build(): KtModel;
}

const cases: ModelCase[] = [
  {
    key: "mnist_cnn_samples_per_s",
    label: "MNIST CNN conv16-32 fc64 (28×28×1)",
    shape: [28, 28, 1],
    build: () =>
      cnn.build(cnn.options.parse({ filters: [16, 32], dense: [64] }), {
        inputShape: [28, 28, 1],
        numClasses: 10,
        seed: 0,
      }),
  },
  {
    key: "mlp_samples_per_s",
    label: "MLP 784-256-128-10",
    shape: [28, 28, 1],
    build: () =>
      mlp.build(mlp.options.parse({ hidden: [256, 128] }), {
        inputShape: [28, 28, 1],
        numClasses: 10,
        seed: 0,
      }),
  },
  {
    key: "tiny_student_samples_per_s",
    label: "tiny student conv8-16-32+BN fc64 (32×32×3)",
    shape: [32, 32, 3],
    build: () =>
      cnn.build(cnn.options.parse({ filters: [8, 16, 32], batchNorm: true, dense: [64] }), {
        inputShape: [32, 32, 3],
        numClasses: 10,
        seed: 0,
      }),
  },
];

/** Training samples/s at `batchSize`, measured over `steps` steps after a warm-up epoch. */
export function trainingThroughput(
  c: ModelCase,
  batchSize: number,
  steps: number,
): number {
  const model = c.build();
  const warm = synthetic(batchSize * 2, c.shape, 1);
  const data = synthetic(batchSize * steps, c.shape, 2);
  const opts = {
    batchSize,
    epochs: 1,
    optimizer: { type: "adam" as const, lr: 1e-3 },
    seed: 0,
    progress: false as const,
  };
  trainModel(model, warm, opts);
  const t0 = performance.now();
  trainModel(model, data, opts);
  const seconds = (performance.now() - t0) / 1000;
  model.net.dispose();
  return data.size / seconds;
}

/** matMul 512×512 GFLOP/s on the current backend. */
export function matmulGflops(n = 512, reps = 20): number {
  const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
  const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
  // Not inside tf.tidy: tidy would walk the returned array. dataSync forces the computation.
  const run = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  run();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
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
  const table = extractFeatures(teacher, data, "representation");
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

const json: Record<string, number | string> = {};
const rows: string[][] = [];
const backends = args.backends.split(",").map((b) => b.trim());
for (const [i, backend] of backends.entries()) {
  const choice = await useBackend(backend);
  const steps = args.quick ? 4 : backend === "cpu" ? 2 : 30;
  if (i === 0) json.backend = choice.name;
  for (const c of cases) {
    const sps = trainingThroughput(c, 128, steps);
    const ref = c.key in REFERENCE ? REFERENCE[c.key as keyof typeof REFERENCE] : undefined;
    const vs = ref ? `${(sps / ref.value).toFixed(2)}× ${ref.what} (${ref.value})` : "";
    rows.push([choice.name, c.label, "128", sps.toFixed(0), vs]);
    if (i === 0) json[c.key] = Math.round(sps);
  }
  const gflops = matmulGflops(512, args.quick ? 3 : 20);
  rows.push([choice.name, "matMul 512×512×512", "-", `${gflops.toFixed(2)} GFLOP/s`, ""]);
  if (i === 0) json.matmul512_gflops = Number(gflops.toFixed(3));
  if (i > 0) continue;
  // How training cost grows with the batch size.
  for (const batch of [32, 512]) {
    const sps = trainingThroughput(
      cases[0],
      batch,
      args.quick ? 2 : Math.max(4, Math.round(3840 / batch)),
    );
    rows.push([choice.name, cases[0].label, String(batch), sps.toFixed(0), ""]);
    json[`mnist_cnn_batch${batch}_samples_per_s`] = Math.round(sps);
  }
  // Retrieval evaluation: 10k queries × 64-d against databases of growing size.
  for (const nd of args.quick ? [1000, 10000] : [1000, 10000, 60000]) {
    const seconds = await benchRetrieval(10000, nd, 64);
    const ref = nd === 60000 ? REFERENCE.retrieval_10k_60k_s : undefined;
    rows.push([
      choice.name,
      `retrieval 10k queries × ${nd / 1000}k database × 64-d`,
      "-",
      `${seconds.toFixed(2)} s`,
      ref ? `${(ref.value / seconds).toFixed(1)}× faster than ${ref.what} (${ref.value} s)` : "",
    ]);
    if (nd === 60000) json.retrieval_10k_60k_s = Number(seconds.toFixed(3));
  }
  // Teacher features: extraction vs a cache hit (60k MNIST-sized samples, teacher conv32-64-128 fc256).
  const { extract, hit } = await cacheBench(args.quick ? 5000 : 60000);
  rows.push([
    choice.name,
    `teacher features, ${args.quick ? "5k" : "60k"} samples: extract`,
    "-",
    `${extract.toFixed(2)} s`,
    "",
  ]);
  rows.push([
    choice.name,
    "teacher features: cache hit (read + verify)",
    "-",
    `${hit.toFixed(3)} s`,
    `${(extract / hit).toFixed(0)}× faster than extraction`,
  ]);
  json.cache_extract_s = Number(extract.toFixed(3));
  json.cache_hit_s = Number(hit.toFixed(4));
}

const header = ["backend", "benchmark", "batch", "samples/s", "vs reference"];
const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
const line = (r: string[]) => "| " + r.map((c, k) => c.padEnd(widths[k])).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));
if (args.json) console.log(JSON.stringify(json));
