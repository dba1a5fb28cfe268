/**
 * The models `deno task bench` trains and how it measures their throughput (shared by the main
 * bench and its worker for parallel trials).
 * @module
 */
import { trainModel } from "../src/train.ts";
import type { Dataset } from "../src/data.ts";
import type { KtModel } from "../src/api.ts";
import { createRng } from "../src/rng.ts";
import cnn from "../plugins/models/cnn.ts";
import mlp from "../plugins/models/mlp.ts";

/** Uniform random images with cycling labels. */
export function synthetic(n: number, shape: [number, number, number], seed: number): Dataset {
  const rng = createRng(seed);
  const d = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  const y = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { name: "synthetic", x, y, shape, size: n, numClasses: 10 };
}

export interface ModelCase {
  key: "mnist_cnn_samples_per_s" | "mlp_samples_per_s" | "tiny_student_samples_per_s";
  label: string;
  shape: [number, number, number];
  build(): KtModel;
}

export const cases: ModelCase[] = [
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
export async function trainingThroughput(
  c: ModelCase,
  batchSize: number,
  steps: number,
): Promise<number> {
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
  await trainModel(model, warm, opts);
  const t0 = performance.now();
  await trainModel(model, data, opts);
  const seconds = (performance.now() - t0) / 1000;
  model.net.dispose();
  return data.size / seconds;
}
