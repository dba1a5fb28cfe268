/**
 * `resnet`: pre-activation ResNet (He et al. 2016, "Identity Mappings"), ResNet-18 layout by
 * default — the paper's teacher. Stem conv3x3, then stages of basic blocks
 * (BN → ReLU → conv3x3 → BN → ReLU → conv3x3, plus identity or 1×1-conv shortcut), then
 * BN → ReLU → global average pool (`pool`, the representation) → `logits`.
 * Block layers are named `s{stage}b{block}_{bn1,relu1,conv1,bn2,relu2,conv2,shortcut,add}`.
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import {
  batchNormalization,
  conv2d,
  defineModel,
  INIT_SCHEMES,
  type ModelEstimate,
  seededInitializers,
  z,
} from "../../mod.ts";

type T = tfl.SymbolicTensor;

export default defineModel({
  name: "resnet",
  description: "pre-activation ResNet (ResNet-18 layout by default; width/depth configurable)",
  version: "2",
  options: z.object({
    width: z.number().int().positive().default(64).describe("filters of the first stage"),
    blocks: z.array(z.number().int().positive()).min(1).default([2, 2, 2, 2])
      .describe("basic blocks per stage; stage s has width·2^s filters, stride 2 from stage 2"),
    init: z.enum(INIT_SCHEMES).default("torch").describe(
      "weight init: torch (PyTorch's default, U(±1/√fan_in) kernels and biases) | he | glorot",
    ),
  }).strict(),
  estimate(opts, ctx) {
    let [h, w, c] = ctx.inputShape;
    const out: ModelEstimate = { params: 9 * c * opts.width, activations: h * w * opts.width };
    c = opts.width;
    opts.blocks.forEach((count, s) => {
      const f = opts.width * 2 ** s;
      for (let b = 0; b < count; b++) {
        const strides = s > 0 && b === 0 ? 2 : 1;
        const shortcut = strides !== 1 || c !== f ? c * f : 0;
        h = Math.ceil(h / strides);
        w = Math.ceil(w / strides);
        out.params += 2 * c + 9 * c * f + 2 * f + 9 * f * f + shortcut;
        out.activations += 8 * h * w * f;
        c = f;
      }
    });
    out.params += 2 * c + c * ctx.numClasses + ctx.numClasses;
    out.activations += 2 * h * w * c + c + ctx.numClasses;
    out.largest = { layer: "the network", option: "width", params: out.params };
    return out;
  },
  build(opts, ctx) {
    const init = seededInitializers(ctx.seed, opts.init);
    const conv = (name: string, filters: number, kernelSize: number, strides: number) =>
      conv2d({
        name,
        filters,
        kernelSize,
        strides,
        padding: "same",
        useBias: false,
        kernelInitializer: init.kernel(),
      });
    const bnRelu = (name: string, x: T): T => {
      const b = batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 })
        .apply(x) as T;
      return tfl.layers.activation({ name: `${name}_relu`, activation: "relu" }).apply(b) as T;
    };
    const input = tfl.input({ shape: ctx.inputShape, name: "input" });
    let x = conv("stem", opts.width, 3, 1).apply(input) as T;
    let channels = opts.width;
    opts.blocks.forEach((count, s) => {
      const filters = opts.width * 2 ** s;
      for (let b = 0; b < count; b++) {
        const name = `s${s + 1}b${b + 1}`;
        const strides = s > 0 && b === 0 ? 2 : 1;
        const pre = bnRelu(`${name}_pre`, x);
        const shortcut = strides !== 1 || channels !== filters
          ? conv(`${name}_shortcut`, filters, 1, strides).apply(pre) as T
          : x;
        let y = conv(`${name}_conv1`, filters, 3, strides).apply(pre) as T;
        y = bnRelu(`${name}_mid`, y);
        y = conv(`${name}_conv2`, filters, 3, 1).apply(y) as T;
        x = tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as T;
        channels = filters;
      }
    });
    x = bnRelu("final", x);
    x = tfl.layers.globalAveragePooling2d({ name: "pool" }).apply(x) as T;
    const logits = tfl.layers.dense({
      name: "logits",
      units: ctx.numClasses,
      kernelInitializer: init.outputKernel(),
      biasInitializer: init.bias(x.shape[1]!),
    }).apply(x) as T;
    return {
      net: tfl.model({ inputs: input, outputs: logits, name: "resnet" }),
      representation: "pool",
    };
  },
});
