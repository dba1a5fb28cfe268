/**
 * Stock wasm kernels vs kt's registered ones, on the shapes of a small MNIST CNN
 * (batch 128, 28×28×1 → conv3x3 16 "same" → maxPool 2 → conv3x3 32 "same" → maxPool 2 → fc 64
 * → fc 10). Run: `deno run -A bench/kernels_bench.ts`. Prints milliseconds per kernel call
 * (median; kernel functions called directly, stock and kt alternating per case).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-layers"; // registers the gradient functions
import "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { registerWasmTrainingKernels } from "../src/backend/kernels/mod.ts";
import { RELU_GRAD } from "../src/backend/kernels/elementwise.ts";
import { BATCH_MATMUL } from "../src/backend/kernels/matmul.ts";
import { KtAdamOptimizer } from "../src/backend/adam.ts";
import { batchNormalization } from "../src/backend/batch_norm_layer.ts";

await tf.setBackend("wasm");
await tf.ready();

const B = 128;
type Attrs = Record<string, unknown>;
interface Case {
  label: string;
  kernel: string;
  inputs: () => Record<string, tf.Tensor>;
  attrs: Attrs;
}

const r = (shape: number[]) => tf.randomNormal(shape, 0, 1, "float32", 7);

function conv(label: string, x: number[], f: number[], strides = 1): Case[] {
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    f as [number, number, number, number],
    strides,
    1,
    "same",
  );
  const base = { strides, pad: "same", dataFormat: "NHWC" };
  return [
    {
      label: `${label} dW`,
      kernel: tf.Conv2DBackpropFilter,
      inputs: () => ({ x: r(x), dy: r(info.outShape) }),
      attrs: { ...base, filterShape: f },
    },
    {
      label: `${label} dx`,
      kernel: tf.Conv2DBackpropInput,
      inputs: () => ({ dy: r(info.outShape), filter: r(f) }),
      attrs: { ...base, inputShape: x },
    },
  ];
}

function pool(label: string, x: number[]): Case {
  const out = [x[0], x[1] / 2, x[2] / 2, x[3]];
  return {
    label,
    kernel: tf.MaxPoolGrad,
    inputs: () => {
      const input = r(x) as tf.Tensor4D;
      return { dy: r(out), input, output: tf.maxPool(input, 2, 2, "valid") };
    },
    attrs: { filterSize: 2, strides: 2, pad: "valid" },
  };
}

function forward(label: string, x: number[], f: number[], fused: boolean): Case {
  const base = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 };
  return fused
    ? {
      label: `${label} forward + bias + relu`,
      kernel: tf.FusedConv2D,
      inputs: () => ({ x: r(x), filter: r(f), bias: r([f[3]]) }),
      attrs: { ...base, activation: "relu" },
    }
    : {
      label: `${label} forward`,
      kernel: tf.Conv2D,
      inputs: () => ({ x: r(x), filter: r(f) }),
      attrs: base,
    };
}

function matmul(label: string, a: number[], b: number[], tA: boolean, tB: boolean): Case {
  return {
    label,
    kernel: tf.BatchMatMul,
    inputs: () => ({ a: r(a), b: r(b) }),
    attrs: { transposeA: tA, transposeB: tB },
  };
}

function depthwise(label: string, x: number[], f: number[]): Case[] {
  const base = { strides: 1, dilations: 1, pad: "same" };
  const out = [x[0], x[1], x[2], f[2] * f[3]];
  return [
    {
      label: `${label} dW`,
      kernel: tf.DepthwiseConv2dNativeBackpropFilter,
      inputs: () => ({ x: r(x), dy: r(out) }),
      attrs: { ...base, filterShape: f },
    },
    {
      label: `${label} dx`,
      kernel: tf.DepthwiseConv2dNativeBackpropInput,
      inputs: () => ({ dy: r(out), filter: r(f) }),
      attrs: { ...base, inputShape: x },
    },
  ];
}

const CASES: Case[] = [
  forward("conv1 28×28 1→16", [B, 28, 28, 1], [3, 3, 1, 16], false),
  forward("conv1 28×28 1→16", [B, 28, 28, 1], [3, 3, 1, 16], true),
  forward("student conv1 32×32 3→8", [B, 32, 32, 3], [3, 3, 3, 8], false),
  ...conv("conv1 28×28 1→16", [B, 28, 28, 1], [3, 3, 1, 16]),
  ...conv("conv2 14×14 16→32", [B, 14, 14, 16], [3, 3, 16, 32]),
  ...conv("conv2 stride 2", [B, 14, 14, 16], [3, 3, 16, 32], 2),
  pool("maxPool1 28→14 ×16", [B, 28, 28, 16]),
  pool("maxPool2 14→7 ×32", [B, 14, 14, 32]),
  matmul("fc1 dW = xᵀ·dy (1568×128·128×64)", [B, 1568], [B, 64], true, false),
  matmul("fc1 dx = dy·Wᵀ (128×64·64×1568)", [B, 64], [1568, 64], false, true),
  matmul("fc2 dW = xᵀ·dy (64×128·128×10)", [B, 64], [B, 10], true, false),
  matmul("fc1 forward, no transpose", [B, 1568], [1568, 64], false, false),
  ...depthwise("depthwise 14×14×16 k3", [B, 14, 14, 16], [3, 3, 16, 1]),
  ...conv("student conv1 32×32 3→8", [B, 32, 32, 3], [3, 3, 3, 8]),
  ...conv("student conv2 16×16 8→16", [B, 16, 16, 8], [3, 3, 8, 16]),
  {
    label: "tile [1,1,1,8] → [128,32,32,8] (BN grad)",
    kernel: tf.Tile,
    inputs: () => ({ x: r([1, 1, 1, 8]) }),
    attrs: { reps: [B, 32, 32, 1] },
  },
  {
    label: "sum [128,28,28,16] over N,H,W (bias grad)",
    kernel: tf.Sum,
    inputs: () => ({ x: r([B, 28, 28, 16]) }),
    attrs: { axis: [0, 1, 2], keepDims: false },
  },
  {
    label: "mean [128,32,32,8] over N,H,W (BN moments)",
    kernel: tf.Mean,
    inputs: () => ({ x: r([B, 32, 32, 8]) }),
    attrs: { axis: [0, 1, 2], keepDims: true },
  },
  {
    label: "add bias [128,28,28,16] + [16]",
    kernel: tf.Add,
    inputs: () => ({ a: r([B, 28, 28, 16]), b: r([16]) }),
    attrs: {},
  },
  {
    label: "identity [128,28,28,16] (saved for backprop)",
    kernel: tf.Identity,
    inputs: () => ({ x: r([B, 28, 28, 16]) }),
    attrs: {},
  },
  {
    label: "unsortedSegmentSum 1000×64 → 10",
    kernel: tf.UnsortedSegmentSum,
    inputs: () => ({ x: r([1000, 64]), segmentIds: tf.randomUniformInt([1000], 0, 10, 3) }),
    attrs: { numSegments: 10 },
  },
];

/**
 * Median milliseconds per call of `func` (null when missing), called as the engine would. Every
 * call gets fresh inputs, as in training: the wasm matmul caches its packed right operand per
 * tensor, so reusing inputs would hide that cost.
 */
function time(c: Case, func: tf.KernelFunc | undefined, minMs = 250): number | null {
  if (!func) return null;
  const backend = tf.engine().backend;
  const once = () => {
    const inputs = c.inputs();
    const t0 = performance.now();
    const out = func({ inputs, attrs: c.attrs as tf.NamedAttrMap, backend }) as tf.TensorInfo;
    const ms = performance.now() - t0;
    backend.disposeData(out.dataId);
    tf.dispose(Object.values(inputs));
    return ms;
  };
  once();
  once();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start < minMs && samples.length < 200)) {
    samples.push(once());
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** One training step of the CNN (forward + variableGrads), ms, or the error message. */
function trainStep(): number | string {
  const vars = [
    tf.variable(r([3, 3, 1, 16])),
    tf.variable(r([3, 3, 16, 32])),
    tf.variable(tf.mul(r([1568, 64]), 0.03)),
    tf.variable(tf.mul(r([64, 10]), 0.1)),
  ];
  const xs = r([B, 28, 28, 1]) as tf.Tensor4D;
  const ys = tf.oneHot(tf.randomUniformInt([B], 0, 10, 5), 10);
  const step = () => {
    const t0 = performance.now();
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        let h = tf.maxPool(
          tf.relu(tf.conv2d(xs, vars[0] as tf.Tensor4D, 1, "same")),
          2,
          2,
          "valid",
        );
        h = tf.maxPool(tf.relu(tf.conv2d(h, vars[1] as tf.Tensor4D, 1, "same")), 2, 2, "valid");
        const f = tf.relu(tf.matMul(tf.reshape(h, [B, -1]), vars[2]));
        return tf.losses.softmaxCrossEntropy(ys, tf.matMul(f, vars[3])) as tf.Scalar;
      }, vars);
      return grads;
    });
    return performance.now() - t0;
  };
  try {
    step();
    const samples = [step(), step(), step(), step(), step()].sort((a, b) => a - b);
    return samples[2];
  } catch (err) {
    return `fails: ${(err as Error).message.split("\n")[0].slice(0, 60)}`;
  } finally {
    tf.dispose([...vars, xs, ys]);
  }
}

/** Median ms of `body` over ≥ 5 runs (≥ 250 ms), after two warm-ups; tensors it leaves are freed. */
function timeOp(body: () => void): number {
  const once = () => {
    const t0 = performance.now();
    tf.tidy(body);
    return performance.now() - t0;
  };
  once();
  once();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start < 250 && samples.length < 200)) {
    samples.push(once());
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

/** tfjs's own way and kt's fused way of three training-step pieces (after registration). */
function fusedOps(): Array<[string, number, number]> {
  const dy = r([B, 28, 28, 16]);
  const x = r([B, 28, 28, 16]);
  const relu: [string, number, number] = [
    "ReLU gradient [128,28,28,16]: Step·Mul vs KtReluGrad",
    timeOp(() => tf.mul(dy, tf.cast(tf.step(x), "float32"))),
    timeOp(() => tf.engine().runKernel(RELU_GRAD, { dy, x })),
  ];
  const adamStep = (opt: tf.Optimizer) => {
    const vars = [tf.variable(r([1568, 64])), tf.variable(r([64]))];
    const grads = { [vars[0].name]: r([1568, 64]), [vars[1].name]: r([64]) };
    const ms = timeOp(() => opt.applyGradients(grads));
    tf.dispose([...vars, ...Object.values(grads)]);
    opt.dispose();
    return ms;
  };
  const adam: [string, number, number] = [
    "Adam step, 100k parameters: tfjs vs KtAdamUpdate",
    adamStep(tf.train.adam(1e-3)),
    adamStep(new KtAdamOptimizer(1e-3)),
  ];
  const bnStep = (layer: tfl.layers.Layer) => {
    const input = r([B, 32, 32, 8]);
    layer.build(input.shape);
    const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
    const w = r([B, 32, 32, 8]);
    const ms = timeOp(() =>
      tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, w)) as tf.Scalar,
        vars,
      )
    );
    tf.dispose([input, w]);
    return ms;
  };
  const bn: [string, number, number] = [
    "batch norm [128,32,32,8] train fwd+bwd: tfjs vs kt",
    bnStep(tfl.layers.batchNormalization({ momentum: 0.9 })),
    bnStep(batchNormalization({ momentum: 0.9 })),
  ];
  // RKD's triplet angles: per anchor, the Gram matrix of the B unit differences (B × B × d).
  const gram = (d: number): [string, number, number] => {
    const u = r([B, B, d]);
    const row: [string, number, number] = [
      `RKD angle Gram [${B},${B},${d}]: BatchMatMul vs Kt*`,
      timeOp(() => tf.matMul(u, u, false, true)),
      timeOp(() => tf.engine().runKernel(BATCH_MATMUL, { a: u, b: u }, { transposeB: true })),
    ];
    u.dispose();
    return row;
  };
  tf.dispose([dy, x]);
  return [relu, adam, bn, gram(64), gram(256)];
}

const fmt = (ms: number | null) => (ms === null ? "missing" : ms.toFixed(2));
const stockKernels = CASES.map((c) => tf.getKernel(c.kernel, "wasm")?.kernelFunc);
const stockStep = trainStep();
registerWasmTrainingKernels();
const ktKernels = CASES.map((c) => tf.getKernel(c.kernel, "wasm")?.kernelFunc);
// Stock and kt alternate per case, so load changes on a shared machine hit both alike.
const stock: Array<number | null> = [];
const kt: Array<number | null> = [];
CASES.forEach((c, i) => {
  stock.push(time(c, stockKernels[i]));
  kt.push(time(c, ktKernels[i]));
});
const ktStep = trainStep();

console.log(`wasm backend, batch ${B}; ms per call (median)`);
console.log(
  `${"kernel / shape".padEnd(44)} ${"stock".padStart(9)} ${"kt".padStart(9)} ${
    "speed-up".padStart(9)
  }`,
);
CASES.forEach((c, i) => {
  const s = stock[i];
  const k = kt[i];
  const gain = s !== null && k !== null ? `${(s / k).toFixed(1)}×` : "";
  console.log(
    `${c.label.padEnd(44)} ${fmt(s).padStart(9)} ${fmt(k).padStart(9)} ${gain.padStart(9)}`,
  );
});
console.log(`\n${"fused ops (ms, median)".padEnd(52)} ${"tfjs".padStart(9)} ${"kt".padStart(9)}`);
for (const [label, ours, theirs] of fusedOps().map(([l, a, b]) => [l, b, a] as const)) {
  console.log(
    `${label.padEnd(52)} ${theirs.toFixed(2).padStart(9)} ${ours.toFixed(2).padStart(9)} ${
      `${(theirs / ours).toFixed(1)}×`.padStart(9)
    }`,
  );
}
const stepText = (v: number | string) => (typeof v === "number" ? `${v.toFixed(1)} ms` : v);
console.log(
  `CNN train step (batch ${B}): stock ${stepText(stockStep)}; kt ${stepText(ktStep)}` +
    (typeof ktStep === "number" ? ` (${(B / ktStep * 1000).toFixed(0)} samples/s)` : ""),
);
