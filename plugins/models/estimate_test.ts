import assert from "node:assert/strict";
import type { ModelContext, ModelPlugin } from "../../src/api.ts";
import { useBackend } from "../../src/backend/select.ts";
import { OptionError } from "../../src/errors.ts";
import cnn from "./cnn.ts";
import mlp from "./mlp.ts";
import resnet from "./resnet.ts";

const cases: [ModelPlugin<unknown>, Record<string, unknown>, [number, number, number]][] = [
  [cnn as ModelPlugin<unknown>, {}, [28, 28, 1]],
  [cnn as ModelPlugin<unknown>, { filters: [8, 16, 32], batchNorm: true, dense: [64] }, [
    28,
    28,
    1,
  ]],
  [cnn as ModelPlugin<unknown>, { filters: [32, 64], dense: [128], kernelSize: 5 }, [32, 32, 3]],
  [mlp as ModelPlugin<unknown>, { hidden: [64, 32] }, [28, 28, 1]],
  [resnet as ModelPlugin<unknown>, { width: 8, blocks: [1, 1] }, [32, 32, 3]],
];

Deno.test("estimate() of cnn, mlp and resnet counts exactly the parameters build() makes", async () => {
  await useBackend("cpu");
  for (const [plugin, raw, inputShape] of cases) {
    const options = plugin.options.parse(raw);
    const ctx: ModelContext = { inputShape, numClasses: 10, seed: 0 };
    const estimate = plugin.estimate!(options, ctx);
    const { net } = plugin.build(options, ctx);
    const trainable = net.trainableWeights.reduce(
      (n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1),
      0,
    );
    assert.equal(estimate.params, trainable, `${plugin.name} ${JSON.stringify(raw)}`);
    assert.ok(estimate.activations > 0);
    net.dispose();
  }
});

Deno.test("estimate() names the option behind the largest layer, and refuses kernels larger than the input", () => {
  const huge = cnn.estimate!(cnn.options.parse({ dense: [1e9] }), {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 0,
  });
  assert.deepEqual(huge.largest, { layer: "fc1", option: "dense.0", params: 1568 * 1e9 + 1e9 });
  const ctx = { inputShape: [28, 28, 1] as [number, number, number], numClasses: 10, seed: 0 };
  assert.throws(
    () => cnn.estimate!(cnn.options.parse({ kernelSize: 1000 }), ctx),
    (e: unknown) =>
      e instanceof OptionError && e.option === "kernelSize" &&
      e.message === "kernelSize 1000 is larger than the 28×28 input",
  );
  assert.throws(
    () => cnn.estimate!(cnn.options.parse({}), { ...ctx, inputShape: [1, 1, 784] }),
    (e: unknown) => e instanceof OptionError && /give the dataset a shape/.test(e.hint ?? ""),
  );
});
