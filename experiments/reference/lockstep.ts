/**
 * Lockstep cross-check, kt side: trains one of the protocol's networks with kt's own trainer and
 * writes everything PyTorch needs to take the very same steps — the initial weights, the training
 * samples, the batch order of every epoch — and what kt ended with (each epoch's mean loss, the
 * final weights and batch-norm statistics, eval-mode logits of test images). `lockstep.py`, next
 * to this file, replays the steps in PyTorch from kt's initial weights and compares. Where the
 * statistical comparison (pkt_protocol.py, compare.ts) asks whether two implementations give the
 * same distribution of results, this asks whether one training step is the same step.
 *
 *   deno run -A experiments/reference/lockstep.ts OUT_DIR [--dataset fashion-mnist]
 *     [--model teacher|student] [--samples 2000] [--epochs 2] [--test 1000] [--seed 0]
 *     [--backend wasm] [--lr 0.001] [--optimizer adam|sgd] [--loss cross-entropy|pkt]
 *   /usr/bin/python3 experiments/reference/lockstep.py OUT_DIR
 *
 * OUT_DIR gets `meta.json` (settings, weight manifest, kt's epoch losses), `x.npy` / `y.npy`
 * (the training samples: kt's stratified `limit` subset of the train split), `order.npy` (epochs ×
 * samples int32, kt's shuffle), `test_x.npy` / `test_y.npy`, `init/` and `final/` (one `.npy` per
 * weight, kt's layout) and `test_logits.npy`; with `--loss pkt` also `teacher_features.npy`, the
 * representation (fc 256) of a teacher network (the protocol's, initialised with seed + 1, eval
 * mode) for each training sample, which the PKT loss (kt's `pkt` plugin, official defaults) matches.
 * kt never imports this script.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  createRng,
  type Dataset,
  extractLayers,
  type LayersModel,
  permutation,
  type Targets,
  trainModel,
} from "../../mod.ts";
import pkt from "../../plugins/losses/pkt.ts";
import { parseArgs as parseFlags } from "node:util";
import { useBackend } from "../../src/backend/select.ts";
import { KtError, thrownSummary } from "../../src/errors.ts";
import { choiceFlag, intFlag, numberFlag } from "../../src/flags.ts";
import cnn from "../../plugins/models/cnn.ts";
import mnist from "../../plugins/datasets/mnist.ts";
import fashionMnist from "../../plugins/datasets/fashion_mnist.ts";
import { npyBytes } from "./export_data.ts";

const DATASETS = { mnist, "fashion-mnist": fashionMnist } as const;
/** The protocol's two networks (experiments/mnist_pkt.yaml). */
const MODELS = {
  teacher: { use: "cnn", filters: [32, 64, 128], batchNorm: true, dense: [256] },
  student: { use: "cnn", filters: [8, 16, 32], batchNorm: true, dense: [64] },
} as const;

const USAGE = "usage: deno run -A experiments/reference/lockstep.ts OUT_DIR " +
  "[--dataset mnist|fashion-mnist] [--model teacher|student] [--samples N] [--epochs E] " +
  "[--test M] [--seed S] [--backend wasm|cpu] [--lr LR] [--optimizer adam|sgd] [--loss cross-entropy|pkt]";

interface Args {
  outDir: string;
  dataset: keyof typeof DATASETS;
  model: keyof typeof MODELS;
  samples: number;
  epochs: number;
  test: number;
  seed: number;
  backend: string;
  lr: number;
  optimizer: "adam" | "sgd";
  loss: "cross-entropy" | "pkt";
}

function fail(message: string): never {
  console.error(`lockstep: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function parseArgs(argv: string[]): Args {
  const { values: v, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      dataset: { type: "string", default: "fashion-mnist" },
      model: { type: "string", default: "teacher" },
      samples: { type: "string", default: "2000" },
      epochs: { type: "string", default: "2" },
      test: { type: "string", default: "1000" },
      seed: { type: "string", default: "0" },
      backend: { type: "string", default: "wasm" },
      lr: { type: "string", default: "0.001" },
      optimizer: { type: "string", default: "adam" },
      loss: { type: "string", default: "cross-entropy" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (positionals.length !== 1) fail("give one output directory");
  return {
    outDir: positionals[0],
    dataset: choiceFlag("--dataset", ["mnist", "fashion-mnist"] as const)(v.dataset),
    model: choiceFlag("--model", ["teacher", "student"] as const)(v.model),
    samples: intFlag("--samples", { min: 1, example: "2000" })(v.samples),
    epochs: intFlag("--epochs", { min: 1, example: "2" })(v.epochs),
    test: intFlag("--test", { min: 1, example: "1000" })(v.test),
    seed: intFlag("--seed", { min: 0, example: "0" })(v.seed),
    backend: v.backend,
    lr: numberFlag("--lr", { min: 0, example: "0.001" })(v.lr),
    optimizer: choiceFlag("--optimizer", ["adam", "sgd"] as const)(v.optimizer),
    loss: choiceFlag("--loss", ["cross-entropy", "pkt"] as const)(v.loss),
  };
}

/** Every weight of the network (trainable and batch-norm statistics) as `layer/weight`, in layer order. */
function weightsOf(net: LayersModel) {
  return net.layers.flatMap((layer) =>
    layer.weights.map((w) => ({
      name: `${layer.name}/${w.originalName.split("/").pop()}`,
      shape: w.shape as number[],
      values: w.read().dataSync() as Float32Array,
    }))
  );
}

async function writeWeights(dir: string, weights: ReturnType<typeof weightsOf>) {
  await Deno.mkdir(dir, { recursive: true });
  for (const w of weights) {
    await Deno.writeFile(
      `${dir}/${w.name.replace("/", ".")}.npy`,
      npyBytes("<f4", w.shape, w.values),
    );
  }
}

async function main() {
  let args: Args;
  try {
    args = parseArgs(Deno.args);
  } catch (e) {
    // A flag parser's KtError (what, where, an example) or parseArgs' unknown-option error.
    fail(e instanceof KtError ? e.format() : thrownSummary(e));
  }
  const backend = await useBackend(args.backend);
  const plugin = DATASETS[args.dataset];
  const ctx = { cacheDir: ".kt/cache/datasets", seed: 0, log: (m: string) => console.error(m) };
  const train: Dataset = await plugin.load(
    plugin.options.parse({ split: "train", limit: args.samples }),
    ctx,
  );
  const test: Dataset = await plugin.load(
    plugin.options.parse({ split: "test", limit: args.test }),
    ctx,
  );
  const { use: _use, ...arch } = MODELS[args.model];
  const model = cnn.build(cnn.options.parse(arch), {
    inputShape: train.shape,
    numClasses: train.numClasses,
    seed: args.seed,
  });
  const dir = args.outDir;
  await Deno.mkdir(dir, { recursive: true });
  const init = weightsOf(model.net);
  await writeWeights(`${dir}/init`, init);
  // kt's batch order: the trainer draws one permutation per epoch from createRng(seed) (no
  // augmentation here, so nothing else draws from it).
  const rng = createRng(args.seed);
  const order = new Int32Array(args.epochs * train.size);
  for (let e = 0; e < args.epochs; e++) order.set(permutation(train.size, rng), e * train.size);
  await Deno.writeFile(`${dir}/order.npy`, npyBytes("<i4", [args.epochs, train.size], order));
  await Deno.writeFile(`${dir}/x.npy`, npyBytes("<f4", [train.size, ...train.shape], train.x));
  await Deno.writeFile(`${dir}/y.npy`, npyBytes("<i4", [train.size], train.y));
  await Deno.writeFile(`${dir}/test_x.npy`, npyBytes("<f4", [test.size, ...test.shape], test.x));
  await Deno.writeFile(`${dir}/test_y.npy`, npyBytes("<i4", [test.size], test.y));
  // PKT's targets: a teacher network's representation of every training sample (the step is the
  // same whatever the teacher knows, so an untrained one with another seed will do).
  let targets: Targets | undefined;
  if (args.loss === "pkt") {
    const { use: _t, ...teacherArch } = MODELS.teacher;
    const teacher = cnn.build(cnn.options.parse(teacherArch), {
      inputShape: train.shape,
      numClasses: train.numClasses,
      seed: args.seed + 1,
    });
    const [features] = await extractLayers(teacher, train, ["representation"]);
    targets = { features };
    await Deno.writeFile(
      `${dir}/teacher_features.npy`,
      npyBytes("<f4", [features.size, features.dim], features.values),
    );
  }
  const losses: number[] = [];
  // Adam with PyTorch's defaults, or plain SGD (no momentum): its step is −lr · gradient, so one
  // step compares the gradients themselves, which Adam's first steps (≈ −lr · sign) would hide.
  const optimizer = args.optimizer === "adam"
    ? { type: "adam" as const, lr: args.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }
    : { type: "sgd" as const, lr: args.lr, momentum: 0 };
  await trainModel(model, train, {
    epochs: args.epochs,
    batchSize: 128,
    optimizer,
    seed: args.seed,
    ...(targets ? { loss: pkt.create(pkt.options.parse({}), { seed: args.seed }), targets } : {}),
    progress: false,
    onEpoch: (r) => losses.push(r.loss),
  });
  await writeWeights(`${dir}/final`, weightsOf(model.net));
  const logits = tf.tidy(() =>
    (model.net.predict(tf.tensor4d(test.x, [test.size, ...test.shape])) as tf.Tensor).dataSync()
  ) as Float32Array;
  await Deno.writeFile(
    `${dir}/test_logits.npy`,
    npyBytes("<f4", [test.size, train.numClasses], logits),
  );
  const meta = {
    dataset: args.dataset,
    model: args.model,
    architecture: MODELS[args.model],
    samples: train.size,
    test: test.size,
    epochs: args.epochs,
    batchSize: 128,
    seed: args.seed,
    optimizer,
    loss: args.loss,
    backend: backend.name,
    weights: init.map((w) => ({
      name: w.name,
      shape: w.shape,
      file: `${w.name.replace("/", ".")}.npy`,
    })),
    ktEpochLosses: losses,
  };
  await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify(meta, null, 2) + "\n");
  console.error(
    `lockstep: ${args.model} on ${train.size} ${args.dataset} samples, ${args.epochs} epoch(s), ` +
      `${backend.name}; kt epoch losses ${
        losses.map((l) => l.toPrecision(7)).join(", ")
      } → ${dir}/`,
  );
}

if (import.meta.main) await main();
