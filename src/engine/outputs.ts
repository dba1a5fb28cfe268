/**
 * How node outputs are stored in the cache and read back: trained models in the tfjs layers
 * format, features as raw float32, metrics as JSON; a teacher plugin node becomes a
 * {@linkcode FeatureSource}.
 * @module
 */
import type {
  Features,
  FeatureSource,
  LossState,
  StepOutput,
  TeacherPlugin,
  TrainedModel,
} from "../api.ts";
import type { Artifact, FileData } from "../cache.ts";
import type { JsonValue } from "../canonical.ts";
import type { Dataset } from "../data.ts";
import { modelFromFiles, modelToFiles } from "../model.ts";
import { KtError } from "../errors.ts";

/** Files (and manifest info) that store a step's output. */
export async function outputToFiles(
  kind: StepOutput,
  value: unknown,
): Promise<{ files: Record<string, FileData>; info: Record<string, JsonValue> }> {
  if (kind === "model") {
    const { model, history, lossState } = value as TrainedModel;
    const files: Record<string, FileData> = {
      ...await modelToFiles(model),
      "history.json": new TextEncoder().encode(JSON.stringify(history)),
    };
    if (lossState) Object.assign(files, lossStateFiles(lossState));
    return { files, info: { representation: model.representation, epochs: history.length } };
  }
  if (kind === "features") {
    const f = value as Features;
    const files: Record<string, FileData> = { "features.f32": f.features };
    if (f.logits) files["logits.f32"] = f.logits;
    for (const [name, table] of Object.entries(f.layers ?? {})) files[`layer.${name}.f32`] = table;
    return { files, info: { dim: f.features.dim, size: f.features.size } };
  }
  return {
    files: { "metrics.json": new TextEncoder().encode(JSON.stringify(value)) },
    info: value as Record<string, JsonValue>,
  };
}

/** Reads a cached output back. */
export async function outputFromArtifact(kind: StepOutput, artifact: Artifact): Promise<unknown> {
  if (kind === "model") {
    const text = new TextDecoder().decode(await artifact.readFile("model.json"));
    const model = await modelFromFiles(
      text,
      (p) => artifact.readFile(p),
      artifact.path("model.json"),
    );
    const history = await artifact.readJson("history.json") as TrainedModel["history"];
    const out: TrainedModel = { model, history };
    if (LOSS_STATE in artifact.manifest.files) out.lossState = await readLossStateFiles(artifact);
    return out;
  }
  if (kind === "features") {
    const names = Object.keys(artifact.manifest.files);
    const out: Features = { features: await artifact.readFeatureTable("features.f32") };
    if (names.includes("logits.f32")) out.logits = await artifact.readFeatureTable("logits.f32");
    for (const name of names) {
      const m = /^layer\.(.+)\.f32$/.exec(name);
      if (m) (out.layers ??= {})[m[1]] = await artifact.readFeatureTable(name);
    }
    return out;
  }
  return await artifact.readJson("metrics.json");
}

/** A teacher plugin node (hog, precomputed, ...) as a feature source. */
export function teacherSource(
  plugin: TeacherPlugin<unknown>,
  options: unknown,
  ctx: Parameters<TeacherPlugin<unknown>["extract"]>[2],
): FeatureSource {
  return {
    async extract(data: Dataset): Promise<Features> {
      const out = await plugin.extract(options, data, ctx);
      return { features: out.features, logits: out.logits };
    },
  };
}

/** The index of a stored loss state: its loss spec and each tensor's shape and file. */
const LOSS_STATE = "loss_state.json";

interface LossStateIndex {
  loss: unknown;
  tensors: Record<string, { shape: number[]; file: string }>;
}

/** A loss term's state as files beside the model: an index and one raw float32 file per tensor. */
function lossStateFiles(state: LossState): Record<string, FileData> {
  const index: LossStateIndex = { loss: state.loss, tensors: {} };
  const files: Record<string, FileData> = {};
  Object.entries(state.tensors).forEach(([name, t], i) => {
    const file = `loss_state.${i}.f32`;
    index.tensors[name] = { shape: t.shape, file };
    files[file] = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
  });
  files[LOSS_STATE] = new TextEncoder().encode(JSON.stringify(index));
  return files;
}

async function readLossStateFiles(artifact: Artifact): Promise<LossState> {
  const index = await artifact.readJson(LOSS_STATE) as LossStateIndex;
  const tensors: LossState["tensors"] = {};
  for (const [name, { shape, file }] of Object.entries(index.tensors)) {
    const values = await artifact.readFloat32(file);
    if (values.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new KtError(
        `${artifact.path(file)}: ${values.length} values for a loss-state tensor of shape ${
          shape.join("×")
        }`,
        { hint: "the cache entry is damaged: delete it (kt cache) and run again" },
      );
    }
    tensors[name] = { shape, values };
  }
  return { loss: index.loss, tensors };
}
