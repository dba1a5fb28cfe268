/**
 * How node outputs are stored in the cache and read back: trained models in the tfjs layers
 * format, features as raw float32, metrics as JSON; a teacher plugin node becomes a
 * {@linkcode FeatureSource}.
 * @module
 */
import type { Features, StepOutput, TeacherPlugin, TrainedModel } from "../api.ts";
import type { Artifact, FileData } from "../cache.ts";
import type { JsonValue } from "../canonical.ts";
import type { Dataset } from "../data.ts";
import type { FeatureSource } from "../steps.ts";
import { modelFromFiles, modelToFiles } from "../model.ts";

/** Files (and manifest info) that store a step's output. */
export async function outputToFiles(
  kind: StepOutput,
  value: unknown,
): Promise<{ files: Record<string, FileData>; info: Record<string, JsonValue> }> {
  if (kind === "model") {
    const { model, history } = value as TrainedModel;
    const files = await modelToFiles(model);
    return {
      files: { ...files, "history.json": new TextEncoder().encode(JSON.stringify(history)) },
      info: { representation: model.representation, epochs: history.length },
    };
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
    return { model, history } satisfies TrainedModel;
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
