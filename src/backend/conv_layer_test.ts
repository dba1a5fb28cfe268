import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { useBackend } from "./select.ts";
import { conv2d } from "./conv_layer.ts";
import { countKernelCalls } from "./kernels/kernel_spy.ts";

await useBackend("wasm");

Deno.test("KtConv2D trains like tfjs's Conv2D and skips the unused input gradient", () => {
  const args = { filters: 8, kernelSize: 3, padding: "same" as const, useBias: false };
  const ours = conv2d(args);
  const stock = tfl.layers.conv2d(args);
  const x = tf.randomNormal([2, 6, 6, 3], 0, 1, "float32", 5);
  ours.build(x.shape);
  stock.build(x.shape);
  stock.setWeights(ours.getWeights());
  const w = tf.randomNormal([2, 6, 6, 8], 0, 1, "float32", 6);
  const lossOf = (layer: tfl.layers.Layer) => () =>
    tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar;
  let grads: Record<string, tf.Tensor[]> = {};
  const counts = countKernelCalls([tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter], () => {
    for (const [name, layer] of [["ours", ours], ["stock", stock]] as const) {
      const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const g = tf.variableGrads(lossOf(layer), vars);
      grads = { ...grads, [name]: [g.value, ...Object.values(g.grads)] };
    }
  });
  assert.deepEqual(grads.ours[0].dataSync(), grads.stock[0].dataSync(), "loss");
  assert.deepEqual(grads.ours[1].dataSync(), grads.stock[1].dataSync(), "kernel gradient");
  // Two filter gradients (one per layer) but only the stock layer's fused op computed dx.
  assert.equal(counts[tf.Conv2DBackpropFilter], 2);
  assert.equal(counts[tf.Conv2DBackpropInput], 1);
  // The input gradient is still there when asked for.
  const dx = tf.grad((v: tf.Tensor) =>
    tf.sum(tf.mul(ours.apply(v, { training: true }) as tf.Tensor, w))
  )(x);
  const dxStock = tf.grad((v: tf.Tensor) =>
    tf.sum(tf.mul(stock.apply(v, { training: true }) as tf.Tensor, w))
  )(x);
  assert.deepEqual(dx.dataSync(), dxStock.dataSync());
});

Deno.test("KtConv2D saves as a plain Conv2D and loads back as kt's layer", async () => {
  const input = tfl.input({ shape: [5, 5, 2] });
  const out = conv2d({ name: "c", filters: 4, kernelSize: 3, useBias: false }).apply(
    input,
  ) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const topology = artifacts!.modelTopology as {
    config: { layers: Array<{ class_name: string }> };
  };
  assert.equal(topology.config.layers[1].class_name, "Conv2D");
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
  assert.equal(loaded.layers[1].constructor.name, "KtConv2D");
  const x = tf.randomNormal([1, 5, 5, 2], 0, 1, "float32", 2);
  assert.deepEqual(
    (loaded.predict(x) as tf.Tensor).dataSync(),
    (model.predict(x) as tf.Tensor).dataSync(),
  );
});
