/**
 * Working with built networks: seeded initialisers for model plugins, reading any layer's output,
 * and saving/loading models in the tfjs layers format (model.json + weights.bin).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
// kt's Conv2D and BatchNormalization (same class names) for models loaded from disk too.
import "./conv_layer.ts";
import "./batch_norm_layer.ts";
import type { FeatureTable, KtModel } from "./api.ts";
import type { Dataset } from "./data.ts";
import { sampleSize } from "./data.ts";
import { createRng, type Rng } from "./rng.ts";
import { KtError, unknownNameMessage } from "./errors.ts";

/** A tfjs-layers weight initialiser. */
export type Initializer = ReturnType<typeof tfl.initializers.heNormal>;

/** Seeded initialisers for model plugins: each call yields a fresh seed from one stream. */
export interface Initializers {
  /** He-normal (fan-in, for ReLU layers). */
  he(): Initializer;
  /** Glorot-uniform (for the output layer). */
  glorot(): Initializer;
}

/** Initialisers drawing their seeds from `seed`, so a model builds identically every time. */
export function seededInitializers(seed: number): Initializers {
  const rng: Rng = createRng(seed);
  return {
    he: () => tfl.initializers.heNormal({ seed: rng.seed() }),
    glorot: () => tfl.initializers.glorotUniform({ seed: rng.seed() }),
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
export function extractLayers(
  model: KtModel,
  data: Dataset,
  layers: string[],
  batchSize = 256,
): FeatureTable[] {
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
    outs.forEach((out, k) => {
      const table = tables[k];
      if (start === 0) {
        table.dim = out.shape[1]!;
        table.values = new Float32Array(data.size * table.dim);
      }
      table.values.set(out.dataSync() as Float32Array, start * table.dim);
      out.dispose();
    });
  }
  return resolved.map((name) => tables[unique.indexOf(name)]);
}

/** Output of `layer` for every sample of `data` (inference mode), one row per sample. */
export function extractFeatures(
  model: KtModel,
  data: Dataset,
  layer = "representation",
  batchSize = 256,
): FeatureTable {
  return extractLayers(model, data, [layer], batchSize)[0];
}

/** Logits for every sample (inference mode). */
export function predictLogits(model: KtModel, data: Dataset, batchSize = 256): FeatureTable {
  return extractFeatures(model, data, "logits", batchSize);
}

// ---------------------------------------------------------------- save / load (tfjs format)

/** A model as the two files of the tfjs layers format. */
export interface ModelFiles {
  "model.json": Uint8Array;
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
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/model.json`);
  } catch (err) {
    throw new KtError(`cannot read ${dir}/model.json: ${(err as Error).message}`, {
      hint: "point to a directory holding model.json and its weight files (tfjs layers format)",
    });
  }
  return modelFromFiles(text, (p) => Deno.readFile(`${dir}/${p}`), `${dir}/model.json`);
}
