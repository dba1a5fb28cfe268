/**
 * `mlp`: flatten → dense ReLU layers → logits. Layer names `flatten`, `fc1`, …, `logits`;
 * the representation is the last hidden layer.
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { defineModel, z } from "../../src/api.ts";
import { INIT_SCHEMES, seededInitializers } from "../../src/model.ts";

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
