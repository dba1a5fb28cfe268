/**
 * A small fake plugin set for the config tests, shaped like the real ones (datasets, models,
 * losses, a metric, a teacher and engine steps) but doing nothing, so the tests do not
 * depend on the real plugins.
 * @module
 */
import {
  defineDataset,
  defineLoss,
  defineMetric,
  defineModel,
  defineStep,
  defineTeacher,
  type Plugin,
  pluginSpec,
  ref,
  z,
} from "../api.ts";
import { createRegistry, type Registry } from "../registry.ts";

const unused = (): never => {
  throw new Error("fake plugin: not callable in config tests");
};

/** The fake plugins. */
export const fakePlugins: Plugin[] = [
  defineDataset({
    name: "mnist",
    description: "fake mnist",
    options: z.object({
      split: z.enum(["train", "test"]).default("train"),
      limit: z.number().int().min(1).optional(),
    }).strict(),
    load: unused,
  }),
  defineDataset({
    name: "fashion",
    description: "fake fashion-mnist",
    options: z.object({ split: z.enum(["train", "test"]).default("train") }).strict(),
    load: unused,
  }),
  defineModel({
    name: "cnn",
    description: "fake cnn",
    version: "2",
    options: z.object({
      filters: z.array(z.number().int().min(1)).min(1).default([8, 16, 32]),
      dense: z.array(z.number().int().min(1)).default([64]),
      dropout: z.number().min(0).max(1).default(0),
    }).strict(),
    build: unused,
  }),
  defineModel({
    name: "mlp",
    description: "fake mlp",
    options: z.object({ hidden: z.array(z.number().int().min(1)).default([256]) }).strict(),
    build: unused,
  }),
  defineLoss({
    name: "pkt",
    description: "fake pkt",
    options: z.object({
      kernel: z.enum(["cosine", "rbf", "student-t"]).default("cosine"),
      weight: z.number().positive().default(1),
    }).strict(),
    create: unused,
  }),
  defineLoss({
    name: "hinton",
    description: "fake hinton",
    options: z.object({
      temperature: z.number().positive().default(4),
      alpha: z.number().min(0).max(1).default(0.9),
    }).strict(),
    create: unused,
  }),
  defineLoss({
    name: "hint-optimized",
    description: "fake hint",
    options: z.object({}).strict(),
    create: unused,
  }),
  defineLoss({
    name: "none",
    description: "no transfer term",
    options: z.object({}).strict(),
    create: unused,
  }),
  defineLoss({
    name: "sum",
    description: "weighted sum of loss terms",
    options: z.object({ terms: z.array(pluginSpec("loss")).min(1) }).strict(),
    create: unused,
  }),
  defineTeacher({
    name: "hog",
    description: "fake hog",
    options: z.object({ cell: z.number().int().min(2).default(7) }).strict(),
    extract: unused,
  }),
  defineMetric({
    name: "retrieval",
    description: "fake retrieval",
    options: z.object({
      similarity: z.enum(["cosine", "euclidean"]).default("cosine"),
      k: z.array(z.number().int().min(1)).default([10, 100]),
    }).strict(),
    compute: unused,
  }),
  defineStep({
    name: "trained-network",
    description: "trains a network with cross-entropy",
    output: "model",
    options: z.object({
      data: ref("dataset"),
      model: pluginSpec("model"),
      epochs: z.number().int().min(1).default(5),
      lr: z.number().positive().default(0.001),
    }).strict(),
    run: unused,
  }),
  defineStep({
    name: "features",
    description: "extracts features of a model or teacher",
    output: "features",
    options: z.object({
      model: ref("model", "teacher"),
      data: ref("dataset"),
      layer: z.string().default("representation"),
    }).strict(),
    run: unused,
  }),
  defineStep({
    name: "transfer",
    description: "trains a student with a transfer loss",
    output: "model",
    options: z.object({
      data: ref("dataset"),
      targets: ref("features").optional(),
      init: ref("model").optional(),
      model: pluginSpec("model"),
      loss: pluginSpec("loss").prefault("none"),
      epochs: z.number().int().min(1).default(10),
      batchSize: z.number().int().min(1).default(128),
    }).strict(),
    run: unused,
  }),
  defineStep({
    name: "retrieval-eval",
    description: "evaluates a model by retrieval",
    output: "metrics",
    options: z.object({
      model: ref("model"),
      queries: ref("dataset"),
      database: ref("dataset"),
      metrics: z.array(pluginSpec("metric")).prefault(["retrieval"]),
    }).strict(),
    run: unused,
  }),
];

/** A registry of {@linkcode fakePlugins}. */
export function fakeRegistry(): Registry {
  return createRegistry(fakePlugins);
}
