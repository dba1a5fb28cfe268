/**
 * Evaluation during training (`evalEvery: N` on a `transfer` node): every N epochs (and after
 * the last) the student's weights are copied aside; once training ends, each copy is put back in
 * turn and evaluated like the paper's protocol — retrieval mAP of the representation (queries
 * against the database, cosine, exact AP) and the head's accuracy on the queries — and each
 * value is recorded as a curve point of phase `eval:<metric>` at that epoch. Evaluating after
 * training leaves the training itself untouched (same steps, same numbers as without
 * `evalEvery`).
 *
 * ```ts ignore
 * import { evaluateSnapshots, snapshotWeights } from "./eval_curve.ts";
 * const snapshots = [{ epoch: 0, weights: snapshotWeights(model) }];
 * await evaluateSnapshots(model, snapshots, test, train, (epoch, metrics) => console.log(epoch, metrics));
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KtModel } from "./api.ts";
import type { Dataset } from "./data.ts";
import { extractLayers } from "./model.ts";
import { retrievalMetrics } from "./metrics/retrieval.ts";
import { accuracy } from "./metrics/classification.ts";

/** The phase of an evaluation curve point: `eval:mAP`, `eval:accuracy`. */
export const EVAL_PHASE_PREFIX = "eval:";

/** A copy of a model's weights after an epoch. */
export interface WeightSnapshot {
  /** 0-based epoch the weights were taken after. */
  epoch: number;
  /** Copies of the model's weights, in `getWeights()` order (owned by the snapshot). */
  weights: tf.Tensor[];
}

/** Whether to evaluate after `epoch` (0-based) of `epochs`, every `every` epochs and at the end. */
export function evaluateAfter(epoch: number, epochs: number, every: number): boolean {
  return (epoch + 1) % every === 0 || epoch === epochs - 1;
}

/** A copy of every weight of `model` (trainable and not: batch-norm statistics too). */
export function snapshotWeights(model: KtModel): tf.Tensor[] {
  return model.net.getWeights().map((w) => tf.clone(w));
}

/**
 * Evaluates each snapshot (see the module doc), calling `record(epoch, metrics)` for each, and
 * leaves the model with the weights it had; every snapshot is disposed.
 */
export async function evaluateSnapshots(
  model: KtModel,
  snapshots: readonly WeightSnapshot[],
  queries: Dataset,
  database: Dataset,
  record: (epoch: number, metrics: Record<string, number>) => void,
): Promise<void> {
  const final = snapshotWeights(model);
  const db = { ...database, augment: undefined };
  try {
    for (const snapshot of snapshots) {
      model.net.setWeights(snapshot.weights);
      const [q, logits] = await extractLayers(model, queries, ["representation", "logits"]);
      const [d] = await extractLayers(model, db, ["representation"]);
      const retrieval = await retrievalMetrics(q, queries.y, d, db.y, { k: [10] });
      record(snapshot.epoch, {
        mAP: retrieval.mAP,
        "P@10": retrieval.precisionAt[10],
        accuracy: await accuracy(logits, queries.y),
      });
    }
  } finally {
    model.net.setWeights(final);
    tf.dispose(final);
    for (const s of snapshots) tf.dispose(s.weights);
  }
}
