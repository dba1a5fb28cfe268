/**
 * `mlp`: flatten → dense ReLU layers → logits. Layer names `flatten`, `fc1`, …, `logits`;
 * the representation is the last hidden layer.
 * @module
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { defineModel, z } from "../../src/api.ts";
import { seededInitializers } from "../../src/model.ts";

export default defineModel({
  name: "mlp",
  description: "multi-layer perceptron: dense ReLU layers + logits",
  version: "1",
  options: z.object({
    hidden: z.array(z.number().int().positive()).min(1).default([256, 128]),
  }).strict(),
  build(opts, ctx) {
    const init = seededInitializers(ctx.seed);
    const input = tfl.input({ shape: ctx.inputShape, name: "input" });
    let x = tfl.layers.flatten({ name: "flatten" }).apply(input) as tfl.SymbolicTensor;
    opts.hidden.forEach((units, i) => {
      x = tfl.layers.dense({
        name: `fc${i + 1}`,
        units,
        activation: "relu",
        kernelInitializer: init.he(),
      }).apply(x) as tfl.SymbolicTensor;
    });
    const logits = tfl.layers.dense({
      name: "logits",
      units: ctx.numClasses,
      kernelInitializer: init.glorot(),
    }).apply(x) as tfl.SymbolicTensor;
    return {
      net: tfl.model({ inputs: input, outputs: logits, name: "mlp" }),
      representation: `fc${opts.hidden.length}`,
    };
  },
});
