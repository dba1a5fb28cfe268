/**
 * The state a loss term trains or accumulates beside the student (CC's and CRD's embeddings, VID's
 * regressors and variances, FitNets' regressor, CRD's memory banks), read off after training so
 * it is stored with the student, and put back when a later `transfer` node continues from that
 * student with the same loss.
 *
 * A term that defines {@linkcode LossTerm.state} / {@linkcode LossTerm.restore} chooses its own
 * names and may include tensors that are not trained (memory banks); any other term's state is
 * its trainable `variables`, in order, named `variable0`, `variable1`, ….
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { LossState, LossTerm, SavedTensor } from "./api.ts";
import { KtError } from "./errors.ts";
import { canonicalJson } from "./canonical.ts";

/** The term's state as named tensors (owned by the term: read them, do not dispose them). */
export function termState(term: LossTerm): Record<string, tf.Tensor> {
  if (term.state) return term.state();
  return Object.fromEntries((term.variables ?? []).map((v, i) => [`variable${i}`, v]));
}

/**
 * Reads a trained term's state to the host; `undefined` when the term holds none. Call it after
 * training and before the term is disposed.
 */
export async function readLossState(term: LossTerm, loss: unknown): Promise<LossState | undefined> {
  const live = termState(term);
  const names = Object.keys(live);
  if (names.length === 0) return undefined;
  const tensors: Record<string, SavedTensor> = {};
  for (const name of names) {
    const t = live[name];
    tensors[name] = { shape: [...t.shape], values: new Float32Array(await t.data()) };
  }
  return { loss, tensors };
}

function describe(s: Record<string, { shape: readonly number[] }>): string {
  return Object.entries(s).map(([k, v]) => `${k} [${v.shape.join("×")}]`).join(", ") || "nothing";
}

/**
 * Puts saved state back into a term whose state exists already (trainers call this after the
 * term's `init`). Throws {@linkcode KtError} when the names or shapes differ.
 */
export function restoreLossState(term: LossTerm, saved: LossState): void {
  const tensors = Object.fromEntries(
    Object.entries(saved.tensors).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]),
  );
  try {
    restoreTerm(term, tensors);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** Puts named tensors (the caller's) into a term: its own `restore`, or its variables in order. */
export function restoreTerm(term: LossTerm, tensors: Record<string, tf.Tensor>): void {
  if (term.restore) return term.restore(tensors);
  const vars = term.variables ?? [];
  assignState(Object.fromEntries(vars.map((v, i) => [`variable${i}`, v])), tensors);
}

/** Assigns `saved[name]` to each variable of `vars`, checking that names and shapes match. */
export function assignState(
  vars: Record<string, tf.Variable>,
  saved: Record<string, tf.Tensor>,
): void {
  const fits = Object.keys(vars).length === Object.keys(saved).length &&
    Object.entries(vars).every(([k, v]) =>
      saved[k] !== undefined && saved[k].shape.join() === v.shape.join()
    );
  if (!fits) {
    throw new KtError(
      `the saved loss state (${describe(saved)}) does not fit this loss term (${describe(vars)})`,
      { hint: "continue from a student trained with the same loss options on the same data" },
    );
  }
  for (const [k, v] of Object.entries(vars)) v.assign(saved[k]);
}

/** Whether two loss specs (`use` and validated options) are the same loss with the same options. */
export function sameLoss(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
