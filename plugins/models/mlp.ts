/**
 * `mlp`: flatten → dense ReLU layers → logits. Layer names `flatten`, `fc1`, …, `logits`;
 * the representation is the last hidden layer.
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { defineModel, INIT_SCHEMES, type ModelEstimate, seededInitializers, z } from "../../mod.ts";

export default defineModel({
  name: "mlp",
  description: "multi-layer perceptron: dense ReLU layers + logits",
  version: "2",
  options: z.object({
    hidden: z.array(z.number().int().positive()).min(1).default([256, 128]),
    init: z.enum(INIT_SCHEMES).default("torch").describe(
      "weight init: torch (PyTorch's default, U(±1/√fan_in) kernels and biases) | he | glorot",
    ),
  }).strict(),
  estimate(opts, ctx) {
    let d = ctx.inputShape[0] * ctx.inputShape[1] * ctx.inputShape[2];
    const out: ModelEstimate = { params: 0, activations: d };
    opts.hidden.forEach((units, i) => {
      const params = d * units + units;
      out.params += params;
      if (params > (out.largest?.params ?? -1)) {
        out.largest = { layer: `fc${i + 1}`, option: `hidden.${i}`, params };
      }
      out.activations += units;
      d = units;
    });
    out.params += d * ctx.numClasses + ctx.numClasses;
    out.activations += ctx.numClasses;
    return out;
  },
  build(opts, ctx) {
    const init = seededInitializers(ctx.seed, opts.init);
    const input = tfl.input({ shape: ctx.inputShape, name: "input" });
    let x = tfl.layers.flatten({ name: "flatten" }).apply(input) as tfl.SymbolicTensor;
    opts.hidden.forEach((units, i) => {
      const fanIn = x.shape[1]!;
      x = tfl.layers.dense({
        name: `fc${i + 1}`,
        units,
        activation: "relu",
        kernelInitializer: init.kernel(),
        biasInitializer: init.bias(fanIn),
      }).apply(x) as tfl.SymbolicTensor;
    });
    const logits = tfl.layers.dense({
      name: "logits",
      units: ctx.numClasses,
      kernelInitializer: init.outputKernel(),
      biasInitializer: init.bias(x.shape[1]!),
    }).apply(x) as tfl.SymbolicTensor;
    return {
      net: tfl.model({ inputs: input, outputs: logits, name: "mlp" }),
      representation: `fc${opts.hidden.length}`,
    };
  },
});
