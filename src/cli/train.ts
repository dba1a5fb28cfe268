/**
 * `kt train`: trains one model with cross-entropy and reports its test accuracy.
 * @module
 */
import type { Command, OptionValues } from "commander";
import type { DatasetPlugin, ModelPlugin } from "../api.ts";
import { KtError, OptionError } from "../errors.ts";
import { choiceFlag, dirFlag, intFlag, jsonObjectFlag, numberFlag } from "../flags.ts";
import { useBackend } from "../backend/select.ts";
import { trainModel } from "../train.ts";
import { predictLogits, saveModel } from "../model.ts";
import { accuracy } from "../metrics/classification.ts";
import type { Registry } from "../registry.ts";
import { WASM_MEMORY_BYTES } from "../engine/preflight.ts";
import { memoryBytes } from "../memory.ts";
import { checkTrainingMemory } from "../steps.ts";
import { parseOptions, pluginContext } from "./shared.ts";

const OPTIMIZERS = ["adam", "sgd"] as const;

/** Adds `kt train` to `program`. */
export function trainCommand(program: Command, registry: Registry): void {
  program.command("train")
    .description("train one model with cross-entropy and report test accuracy")
    .option("--data <name>", "dataset plugin", "mnist")
    .option(
      "--data-options <json>",
      "dataset options (JSON)",
      jsonObjectFlag("--data-options", '{"limit":1000}'),
      {},
    )
    .option("--model <name>", "model plugin", "cnn")
    .option(
      "--model-options <json>",
      "model options (JSON)",
      jsonObjectFlag("--model-options", '{"filters":[16,32]}'),
      {},
    )
    .option("--epochs <n>", "epochs", intFlag("--epochs", { min: 1, max: 1e6, example: "5" }), 1)
    .option(
      "--batch-size <n>",
      "batch size",
      intFlag("--batch-size", { min: 1, max: 1e6, example: "128" }),
      128,
    )
    .option("--optimizer <type>", "adam | sgd", choiceFlag("--optimizer", OPTIMIZERS), "adam")
    .option("--lr <x>", "learning rate", numberFlag("--lr", { above: 0, example: "0.001" }), 0.001)
    .option(
      "--beta1 <x>",
      "Adam β1",
      numberFlag("--beta1", { min: 0, below: 1, example: "0.9" }),
      0.9,
    )
    .option(
      "--beta2 <x>",
      "Adam β2",
      numberFlag("--beta2", { min: 0, below: 1, example: "0.999" }),
      0.999,
    )
    .option(
      "--epsilon <x>",
      "Adam ε (PyTorch's default; tfjs's own is 1e-7)",
      numberFlag("--epsilon", { above: 0, example: "1e-8" }),
      1e-8,
    )
    .option("--seed <n>", "seed", intFlag("--seed", { min: 0, example: "0" }), 0)
    .option(
      "--limit <n>",
      "stratified subset of the training split",
      intFlag("--limit", { min: 1, example: "1000" }),
    )
    .option("--backend <name>", "auto | wasm | cpu | webgpu | tensorflow | tensorflow-gpu", "auto")
    .option(
      "--cache-dir <dir>",
      "download/cache directory",
      dirFlag("--cache-dir", ".kt/cache"),
      ".kt/cache",
    )
    .option("--save <dir>", "save the trained model (tfjs format) here")
    .option(
      "--threads <n>",
      "threads for training on wasm (results do not depend on it)",
      intFlag("--threads", { min: 1, max: 1024, example: "2" }),
      navigator.hardwareConcurrency || 1,
    )
    .addHelpText(
      "after",
      `
Example:
  deno task kt train --data mnist --model cnn --model-options '{"filters":[16,32],"dense":[64]}' --epochs 1`,
    )
    .action((o) => train(registry, o));
}

/** Trains the model the flags `o` describe, prints its test accuracy and saves it if asked. */
async function train(registry: Registry, o: OptionValues): Promise<void> {
  const choice = await useBackend(o.backend, { threads: o.threads });
  console.error(
    `backend: ${choice.name} (${choice.reason})` +
      (choice.threads > 1 ? `, ${choice.threads} threads` : ""),
  );
  const dataPlugin = registry.get("dataset", o.data) as DatasetPlugin<Record<string, unknown>>;
  const modelPlugin = registry.get("model", o.model) as ModelPlugin<unknown>;
  const modelOpts = parseOptions(modelPlugin, o.modelOptions, "--model-options");
  const dataOpts = o.dataOptions as Record<string, unknown>;
  const seed = o.seed as number;
  const ctx = pluginContext(seed, o.cacheDir);
  const trainOpts = parseOptions(
    dataPlugin,
    { ...dataOpts, split: "train", ...(o.limit !== undefined ? { limit: o.limit } : {}) },
    "--data-options",
  );
  const testOpts = parseOptions(dataPlugin, { ...dataOpts, split: "test" }, "--data-options");
  const train = await dataPlugin.load(trainOpts, ctx);
  const test = await dataPlugin.load(testOpts, ctx);
  checkTrainFlags(modelPlugin, modelOpts, train, o.batchSize, choice.name);
  const model = modelPlugin.build(
    modelOpts,
    {
      inputShape: train.shape,
      numClasses: train.numClasses,
      seed,
    },
  );
  const t0 = performance.now();
  const history = await trainModel(model, train, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: {
      type: o.optimizer,
      lr: o.lr,
      beta1: o.beta1,
      beta2: o.beta2,
      epsilon: o.epsilon,
    },
    seed,
    progress: `${o.model}/${o.data}`,
  });
  const seconds = (performance.now() - t0) / 1000;
  const acc = await accuracy(await predictLogits(model, test), test.y);
  const last = history[history.length - 1];
  console.log(
    `${o.model} on ${o.data}: test accuracy ${(100 * acc).toFixed(2)}% ` +
      `(${test.size} test samples) after ${history.length} epoch(s), ${train.size} training samples, ` +
      `${seconds.toFixed(1)} s, ${Math.round(last.samplesPerSecond)} samples/s, final loss ${
        last.loss.toFixed(4)
      }`,
  );
  if (o.save) {
    await saveModel(model, o.save);
    console.log(`saved to ${o.save}`);
  }
}

/**
 * `kt train`'s model options against its data and memory, before anything is built: an error
 * names the flag to change (`--model-options`, `--batch-size`).
 */
function checkTrainFlags(
  plugin: ModelPlugin<unknown>,
  options: unknown,
  data: { shape: [number, number, number]; numClasses: number; size: number },
  batchSize: number,
  backend: string,
): void {
  const memory = backend === "wasm" ? Math.min(memoryBytes(), WASM_MEMORY_BYTES) : memoryBytes();
  try {
    const estimate = plugin.estimate?.(options, {
      inputShape: data.shape,
      numClasses: data.numClasses,
      seed: 0,
    });
    if (estimate) checkTrainingMemory(estimate, Math.min(batchSize, data.size), memory);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    const flag = e.option === "batchSize" ? "--batch-size" : "--model-options";
    const option = e.option.replace(/^model\./, "");
    throw new KtError(flag === "--batch-size" ? e.message : `${option}: ${e.message}`, {
      where: flag,
      hint: e.hint,
    });
  }
}
