/**
 * `cnn`: conv blocks (conv → optional batch-norm → ReLU → optional max-pool) then dense layers.
 * Layer names: `conv1`, `bn1`, `relu1`, `pool1`, …, `flatten`, `fc1`, …, `logits`.
 * The representation is the last dense hidden layer (or `flatten` without dense layers).
 * The paper's tiny student is `{ filters: [8, 16, 32], batchNorm: true, dense: [64] }`.
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import {
  batchNormalization,
  conv2d,
  defineModel,
  INIT_SCHEMES,
  type ModelEstimate,
  OptionError,
  seededInitializers,
  z,
} from "../../mod.ts";

const options = z.object({
  filters: z.array(z.number().int().positive()).default([16, 32]).describe(
    "filters per conv block",
  ),
  kernelSize: z.number().int().positive().default(3),
  batchNorm: z.boolean().default(false).describe("batch-norm after each conv"),
  pool: z.number().int().min(0).default(2).describe("max-pool size after each block (0: none)"),
  dense: z.array(z.number().int().positive()).default([64]).describe("hidden dense widths"),
  dropout: z.number().min(0).max(0.95).default(0),
  init: z.enum(INIT_SCHEMES).default("torch").describe(
    "weight init: torch (PyTorch's default, U(±1/√fan_in) kernels and biases) | he | glorot",
  ),
}).strict();

export default defineModel({
  name: "cnn",
  description: "conv blocks (conv, optional BN, ReLU, max-pool) + dense layers",
  version: "2",
  options,
  estimate(opts, ctx) {
    let [h, w, c] = ctx.inputShape;
    const k = opts.kernelSize;
    if (k > Math.max(h, w)) {
      throw new OptionError("kernelSize", `kernelSize ${k} is larger than the ${h}×${w} input`, {
        hint: h === 1 && w === 1
          ? "the samples are vectors (1×1): give the dataset a shape, e.g. shape: [28, 28, 1], or use mlp"
          : `use a kernelSize of ${Math.max(h, w)} or less; 3 is usual`,
      });
    }
    const out: ModelEstimate = { params: 0, activations: 0 };
    const add = (layer: string, option: string | undefined, params: number) => {
      out.params += params;
      if (option && params > (out.largest?.params ?? -1)) out.largest = { layer, option, params };
    };
    opts.filters.forEach((f, i) => {
      add(`conv${i + 1}`, `filters.${i}`, k * k * c * f + (opts.batchNorm ? 2 * f : f));
      out.activations += h * w * f * (opts.batchNorm ? 3 : 1);
      c = f;
      if (opts.pool > 0 && h >= opts.pool) {
        h = Math.floor(h / opts.pool);
        w = Math.floor(w / opts.pool);
        out.activations += h * w * f;
      }
    });
    if (h * w === 0) {
      throw new OptionError("pool", `pooling by ${opts.pool} leaves a ${h}×${w} feature map`, {
        hint: "use fewer conv blocks or a smaller pool",
      });
    }
    let d = h * w * c;
    out.activations += d;
    opts.dense.forEach((units, i) => {
      add(`fc${i + 1}`, `dense.${i}`, d * units + units);
      out.activations += units * (opts.dropout > 0 ? 2 : 1);
      d = units;
    });
    add("logits", undefined, d * ctx.numClasses + ctx.numClasses);
    out.activations += ctx.numClasses;
    return out;
  },
  build(opts, ctx) {
    const init = seededInitializers(ctx.seed, opts.init);
    const input = tfl.input({ shape: ctx.inputShape, name: "input" });
    let x = input as tfl.SymbolicTensor;
    opts.filters.forEach((f, i) => {
      const n = i + 1;
      const fanIn = opts.kernelSize * opts.kernelSize * x.shape[x.shape.length - 1]!;
      x = conv2d({
        name: `conv${n}`,
        filters: f,
        kernelSize: opts.kernelSize,
        padding: "same",
        useBias: !opts.batchNorm,
        activation: opts.batchNorm ? "linear" : "relu",
        kernelInitializer: init.kernel(),
        ...(opts.batchNorm ? {} : { biasInitializer: init.bias(fanIn) }),
      }).apply(x) as tfl.SymbolicTensor;
      if (opts.batchNorm) {
        x = batchNormalization({ name: `bn${n}`, momentum: 0.9, epsilon: 1e-5 })
          .apply(x) as tfl.SymbolicTensor;
        x = tfl.layers.activation({ name: `relu${n}`, activation: "relu" }).apply(
          x,
        ) as tfl.SymbolicTensor;
      }
      if (opts.pool > 0 && x.shape[1]! >= opts.pool) {
        x = tfl.layers.maxPooling2d({ name: `pool${n}`, poolSize: opts.pool, strides: opts.pool })
          .apply(x) as tfl.SymbolicTensor;
      }
    });
    x = tfl.layers.flatten({ name: "flatten" }).apply(x) as tfl.SymbolicTensor;
    let representation = "flatten";
    opts.dense.forEach((units, i) => {
      representation = `fc${i + 1}`;
      const fanIn = x.shape[1]!;
      x = tfl.layers.dense({
        name: representation,
        units,
        activation: "relu",
        kernelInitializer: init.kernel(),
        biasInitializer: init.bias(fanIn),
      }).apply(x) as tfl.SymbolicTensor;
      if (opts.dropout > 0) {
        x = tfl.layers.dropout({ name: `dropout${i + 1}`, rate: opts.dropout, seed: ctx.seed + i })
          .apply(x) as tfl.SymbolicTensor;
      }
    });
    const logits = tfl.layers.dense({
      name: "logits",
      units: ctx.numClasses,
      kernelInitializer: init.outputKernel(),
      biasInitializer: init.bias(x.shape[1]!),
    }).apply(x) as tfl.SymbolicTensor;
    return { net: tfl.model({ inputs: input, outputs: logits, name: "cnn" }), representation };
  },
});
