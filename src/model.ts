/**
 * Working with built networks: seeded initialisers for model plugins, reading any layer's output,
 * and saving/loading models in the tfjs layers format (model.json + weights.bin).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
// kt's Conv2D and BatchNormalization (same class names) for models loaded from disk too.
import "./backend/conv_layer.ts";
import "./backend/batch_norm_layer.ts";
import type { FeatureTable, KtModel } from "./api.ts";
import type { Dataset } from "./data.ts";
import { sampleSize } from "./data.ts";
import { createRng, type Rng } from "./rng.ts";
import { KtError, unknownNameMessage } from "./errors.ts";
import { readInputFile } from "./io/files.ts";
import { readValues } from "./backend/reads.ts";
import type { Initializer } from "@tensorflow/tfjs-layers/dist/initializers.js";

/** A tfjs-layers weight initialiser. */
export type { Initializer };

/**
 * Weight-initialisation schemes of the built-in models (their `init` option):
 * - `torch`: PyTorch's default for `nn.Conv2d` / `nn.Linear` (kaiming-uniform with a = √5), i.e.
 *   kernels and biases both U(±1/√fan_in) — what the PKT paper, its code and the reference
 *   libraries train with. The default.
 * - `he`: He-normal kernels (fan-in), Glorot-uniform output layer, zero biases (kt before 2026-12).
 * - `glorot`: Glorot-uniform kernels, zero biases (Keras's default).
 * Batch-norm layers start at γ = 1, β = 0 under every scheme.
 */
export const INIT_SCHEMES = ["torch", "he", "glorot"] as const;

/** One of {@linkcode INIT_SCHEMES}. */
export type InitScheme = typeof INIT_SCHEMES[number];

/** Seeded initialisers for model plugins: each call yields a fresh seed from one stream. */
export interface Initializers {
  /** The scheme these initialisers follow. */
  scheme: InitScheme;
  /** Kernel of a hidden (ReLU) layer under the scheme. */
  kernel(): Initializer;
  /** Kernel of the output (logits) layer under the scheme. */
  outputKernel(): Initializer;
  /** Bias of a layer with `fanIn` inputs per unit (kernel height × width × input channels). */
  bias(fanIn: number): Initializer;
  /** He-normal (fan-in, for ReLU layers), whatever the scheme. */
  he(): Initializer;
  /** Glorot-uniform, whatever the scheme. */
  glorot(): Initializer;
}

/**
 * Initialisers drawing their seeds from `seed`, so a model builds identically every time.
 *
 * @example
 * ```ts
 * import { seededInitializers } from "./model.ts";
 * const init = seededInitializers(0, "torch");
 * init.kernel(); // U(±1/√fan_in), fan_in read from the weight's shape
 * init.bias(9 * 16); // U(±1/12) for a 3×3 conv over 16 channels
 * ```
 */
export function seededInitializers(seed: number, scheme: InitScheme = "torch"): Initializers {
  const rng: Rng = createRng(seed);
  const he = () => tfl.initializers.heNormal({ seed: rng.seed() });
  const glorot = () => tfl.initializers.glorotUniform({ seed: rng.seed() });
  // Variance scaling, uniform, fan-in: limit √(3·scale/fan_in); scale 1/3 gives 1/√fan_in.
  const torchKernel = () =>
    tfl.initializers.varianceScaling({
      scale: 1 / 3,
      mode: "fanIn",
      distribution: "uniform",
      seed: rng.seed(),
    });
  return {
    scheme,
    kernel: scheme === "torch" ? torchKernel : scheme === "he" ? he : glorot,
    outputKernel: scheme === "torch" ? torchKernel : glorot,
    bias(fanIn: number) {
      if (scheme !== "torch") return tfl.initializers.zeros();
      const limit = 1 / Math.sqrt(Math.max(1, fanIn));
      return tfl.initializers.randomUniform({ minval: -limit, maxval: limit, seed: rng.seed() });
    },
    he,
    glorot,
  };
}

/** Resolves `representation` (and `logits`) aliases to a real layer name, with a clear miss. */
export function resolveLayerName(model: KtModel, layer: string): string {
  if (layer === "representation") return model.representation;
  if (layer === "logits") return model.net.outputs[0].sourceLayer.name;
  const names = model.net.layers.map((l) => l.name);
  if (!names.includes(layer)) {
    throw new KtError(unknownNameMessage("layer", layer, [...names, "representation", "logits"]), {
      hint: `layers of this model: ${names.join(", ")}`,
    });
  }
  return layer;
}

/** Names of all layers of a model, input to output. */
export function layerNames(model: KtModel): string[] {
  return model.net.layers.map((l) => l.name);
}

/**
 * A model sharing `model`'s weights whose outputs are the given layers (aliases allowed), in
 * order. Use `apply(x, { training })` on it inside a gradient tape.
 */
export function multiOutput(model: KtModel, layers: string[]): tfl.LayersModel {
  const outputs = layers.map((l) => {
    const out = model.net.getLayer(resolveLayerName(model, l)).output;
    return Array.isArray(out) ? out[0] : out;
  });
  return tfl.model({ inputs: model.net.inputs, outputs });
}

/**
 * Outputs of several layers for every sample of `data` (inference mode) from ONE forward pass per
 * batch, each flattened to one row per sample, in the order of `layers`.
 */
export async function extractLayers(
  model: KtModel,
  data: Dataset,
  layers: string[],
  batchSize = 256,
): Promise<FeatureTable[]> {
  // Aliases (representation, logits) and repeats share one output of the pass.
  const resolved = layers.map((l) => resolveLayerName(model, l));
  const unique = [...new Set(resolved)];
  const sub = multiOutput(model, unique);
  const d = sampleSize(data);
  const tables: FeatureTable[] = unique.map(() => ({
    values: new Float32Array(0),
    dim: 0,
    size: data.size,
  }));
  for (let start = 0; start < data.size; start += batchSize) {
    const end = Math.min(start + batchSize, data.size);
    const outs = tf.tidy(() => {
      const x = tf.tensor4d(data.x.subarray(start * d, end * d), [end - start, ...data.shape]);
      const ys = sub.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      return (Array.isArray(ys) ? ys : [ys]).map((y) => tf.reshape(y, [end - start, -1]));
    });
    try {
      for (const [k, out] of outs.entries()) {
        const table = tables[k];
        if (start === 0) {
          table.dim = out.shape[1]!;
          table.values = new Float32Array(data.size * table.dim);
        }
        table.values.set(await readValues(out), start * table.dim);
      }
    } finally {
      tf.dispose(outs);
    }
  }
  return resolved.map((name) => tables[unique.indexOf(name)]);
}

/** Output of `layer` for every sample of `data` (inference mode), one row per sample. */
export async function extractFeatures(
  model: KtModel,
  data: Dataset,
  layer = "representation",
  batchSize = 256,
): Promise<FeatureTable> {
  return (await extractLayers(model, data, [layer], batchSize))[0];
}

/** Logits for every sample (inference mode). */
export function predictLogits(
  model: KtModel,
  data: Dataset,
  batchSize = 256,
): Promise<FeatureTable> {
  return extractFeatures(model, data, "logits", batchSize);
}

// ---------------------------------------------------------------- save / load (tfjs format)

/** A model as the two files of the tfjs layers format. */
export interface ModelFiles {
  /** The topology and weight manifest (JSON). */
  "model.json": Uint8Array;
  /** The weights, float32. */
  "weights.bin": Uint8Array;
}

/** Serialises a model to `model.json` + `weights.bin` bytes (tfjs layers format, one shard). */
export async function modelToFiles(model: KtModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.net.save(tf.io.withSaveHandler((artifacts) => {
    const json = {
      format: "layers-model",
      generatedBy: "kt",
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
      userDefinedMetadata: { representation: model.representation },
    };
    files = {
      "model.json": new TextEncoder().encode(JSON.stringify(json)),
      "weights.bin": new Uint8Array(artifacts.weightData as ArrayBuffer),
    };
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  return files!;
}

/** Rebuilds a model from `model.json` text and its weight shards (read by `readShard`). */
export async function modelFromFiles(
  modelJson: string,
  readShard: (path: string) => Promise<Uint8Array>,
  where: string,
): Promise<KtModel> {
  let json: {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { representation?: string };
  };
  try {
    json = JSON.parse(modelJson);
    if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
      throw new Error("not a layers model");
    }
  } catch (err) {
    throw new KtError(`${where} is not a tfjs layers model.json: ${(err as Error).message}`, {
      hint: "point to a directory holding model.json and its weight files (tfjs layers format)",
    });
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map(readShard));
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const s of shards) {
    weightData.set(s, offset);
    offset += s.length;
  }
  const net = await tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: weightData.buffer,
  }));
  const layers = net.layers.map((l) => l.name);
  const representation = json.userDefinedMetadata?.representation ??
    layers[Math.max(0, layers.length - 2)];
  return { net, representation };
}

/** Saves a model as `model.json` + `weights.bin` (tfjs layers format) into `dir`. */
export async function saveModel(model: KtModel, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const files = await modelToFiles(model);
  await Deno.writeFile(`${dir}/weights.bin`, files["weights.bin"]);
  await Deno.writeFile(`${dir}/model.json`, files["model.json"]);
}

/** Loads a model saved by {@linkcode saveModel} (or any tfjs layers model.json). */
export async function loadModel(dir: string): Promise<KtModel> {
  const hint = "point to a directory holding model.json and its weight files (tfjs layers format)";
  let text: string;
  try {
    // Regular files only (never a FIFO or a device), no larger than memory.
    text = new TextDecoder().decode(await readInputFile(`${dir}/model.json`, hint));
  } catch (err) {
    throw new KtError(`cannot read ${dir}/model.json: ${(err as Error).message}`, { hint });
  }
  return modelFromFiles(text, (p) => readInputFile(`${dir}/${p}`, hint), `${dir}/model.json`);
}
