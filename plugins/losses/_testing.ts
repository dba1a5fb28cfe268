/**
 * Helpers of the loss plugins' tests: a term made from a built-in plugin as the engine makes it,
 * inline specs and `sum`s of them, one batch with every input a loss may read, and a term's value.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  crossEntropy,
  type LossInputs,
  type LossPlugin,
  type LossTerm,
  type PluginSpec,
} from "../../mod.ts";
import { randomMatrix, valueOf } from "../../src/losses/testing.ts";
import { builtinPlugins } from "../mod.ts";
import sum from "./sum.ts";

const LOSSES = new Map(
  builtinPlugins.filter((p) => p.kind === "loss").map((p) => [p.name, p as LossPlugin<unknown>]),
);

/** The built-in loss plugin `name`. */
export function lossPlugin(name: string): LossPlugin<unknown> {
  const plugin = LOSSES.get(name);
  if (!plugin) throw new Error(`no built-in loss "${name}"`);
  return plugin;
}

/** Validates options like the engine does and creates the term (children resolved by name). */
export function makeTerm(name: string, options: Record<string, unknown> = {}, seed = 1): LossTerm {
  const plugin = lossPlugin(name);
  return plugin.create(plugin.options.parse(options), { seed, plugin: (s) => lossPlugin(s.use) });
}

/**
 * An inline loss as the config validator hands it over: options validated, defaults applied;
 * `weight` as a term of `sum` carries it.
 */
export function lossSpec(
  use: string,
  options: Record<string, unknown> = {},
  weight?: number,
): PluginSpec<"loss"> {
  const plugin = lossPlugin(use);
  return {
    use,
    kind: "loss",
    version: plugin.version ?? "",
    options: plugin.options.parse(options) as Record<string, unknown>,
    ...(weight === undefined ? {} : { weight }),
  };
}

/** A `sum` over already validated child specs (as the validator leaves them in its options). */
export function makeSum(terms: PluginSpec<"loss">[], weight = 1, seed = 1): LossTerm {
  return sum.create({ terms, weight }, { seed, plugin: (s) => lossPlugin(s.use) });
}

/**
 * A batch of B = 6 from a dataset of N = 10 samples, with every input a loss may ask for:
 * representation (4) and logits (3 classes) of the student and teacher (5), student maps `conv`
 * (2×2×3) and `big` (4×4×2) and vector `fc` (4); teacher layers `conv` (2×2×5) and `fc` (7)
 * arrive flattened, as the features node stores them.
 */
export function lossBatch(epoch = 0): LossInputs {
  const m = (rows: number, cols: number, seed: number) => randomMatrix(rows, cols, seed);
  return {
    student: tf.tensor2d(m(6, 4, 1)),
    studentLogits: tf.tensor2d(m(6, 3, 2)),
    teacher: tf.tensor2d(m(6, 5, 3)),
    teacherLogits: tf.tensor2d(m(6, 3, 4)),
    studentLayers: {
      conv: tf.tensor4d(m(6, 2 * 2 * 3, 5).flat(), [6, 2, 2, 3]),
      fc: tf.tensor2d(m(6, 4, 6)),
      big: tf.tensor4d(m(6, 4 * 4 * 2, 9).flat(), [6, 4, 4, 2]),
    },
    teacherLayers: { conv: tf.tensor2d(m(6, 2 * 2 * 5, 7)), fc: tf.tensor2d(m(6, 7, 8)) },
    labels: tf.tensor1d([0, 1, 2, 0, 1, 0], "int32"),
    numClasses: 3,
    epoch,
    indices: Int32Array.from([7, 2, 5, 0, 9, 3]),
    datasetLabels: Int32Array.from([0, 2, 1, 0, 1, 2, 0, 0, 1, 1]),
  };
}

/** Disposes every tensor of a {@linkcode lossBatch}. */
export function disposeBatch(b: LossInputs): void {
  tf.dispose([
    b.student,
    b.studentLogits,
    b.teacher!,
    b.teacherLogits!,
    b.labels,
    ...Object.values(b.studentLayers),
    ...Object.values(b.teacherLayers),
  ]);
}

/** The term's loss on the batch. */
export function termValue(term: LossTerm, b: LossInputs): number {
  return valueOf(() => term.compute(b));
}

/** The batch's cross-entropy. */
export function ceValue(b: LossInputs): number {
  return valueOf(() => crossEntropy(b.studentLogits, b.labels));
}
