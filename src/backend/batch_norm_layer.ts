/**
 * {@linkcode KtBatchNormalization}: tfjs-layers' `BatchNormalization` whose training step runs
 * kt's fused wasm kernels (`src/backend/kernels/batch_norm.ts`) — two passes forward, two
 * backward — instead of moments + FusedBatchNorm and their ~20-kernel gradient. Same weights, same
 * serialised class name and config (saved models stay plain tfjs models), same moving-average
 * update; inference, other backends and other layouts run the stock layer.
 * Running statistics follow PyTorch: the moving variance averages the UNBIASED batch variance
 * (× n/(n−1), n = values per channel), where tfjs-layers' own layer averages the biased one.
 * Registered for deserialisation, so loaded models get it too.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  fusedBatchNormApplies,
} from "./kernels/batch_norm.ts";

/** The constructor arguments of tfjs-layers' batch normalisation. */
import type { BatchNormalizationLayerArgs as BatchNormArgs } from "@tensorflow/tfjs-layers/dist/layers/normalization.js";
export type { BatchNormArgs };

/** The fields of tfjs-layers' BatchNormalization this subclass reads. */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

type LayerCtor = new (args: BatchNormArgs) => tfl.layers.Layer;

/** tfjs-layers' own class (not exported by name). */
const StockBatchNormalization = tfl.layers.batchNormalization({}).constructor as LayerCtor;

/** Batch normalisation with kt's fused training kernels on wasm. */
export class KtBatchNormalization extends StockBatchNormalization {
  /** The stock class name: saved models load anywhere tfjs-layers runs. */
  static className = "BatchNormalization";

  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const f = this as unknown as BatchNormFields;
    const axis = f.axis >= 0 ? f.axis : f.axis + input.rank;
    const fused = kwargs["training"] === true && f.center && f.scale &&
      axis === input.rank - 1 && input.dtype === "float32" &&
      tf.getBackend() === "wasm" && tf.getKernel(BATCH_NORM_TRAIN, "wasm") !== undefined &&
      fusedBatchNormApplies(tf.engine().backend, input.shape);
    if (!fused) {
      if (kwargs["training"] !== true) return super.call(inputs, kwargs);
      // The stock layer updates v ← m·v + (1 − m)·biased; add (c − 1)(1 − m)·biased, c = n/(n − 1).
      const before = tf.keep(f.movingVariance.read().clone());
      try {
        const out = super.call(inputs, kwargs);
        const c = besselFactor(input.shape, axis);
        tf.tidy(() => {
          const after = f.movingVariance.read();
          const biasedPart = tf.sub(after, tf.mul(before, f.momentum));
          f.movingVariance.write(tf.add(after, tf.mul(biasedPart, c - 1)));
        });
        return out;
      } finally {
        before.dispose();
      }
    }
    return tf.tidy(() => {
      let mean: tf.Tensor | undefined;
      let variance: tf.Tensor | undefined;
      const attrs = { epsilon: f.epsilon };
      const normalize = tf.customGrad((x, gamma, beta, save) => {
        const [y, m, v] = tf.engine().runKernel(
          BATCH_NORM_TRAIN,
          { x: x as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor },
          attrs,
        ) as tf.Tensor[];
        // customGrad runs this inside a tidy: keep the statistics for the moving averages.
        mean = tf.keep(m);
        variance = tf.keep(v);
        (save as tf.GradSaveFunc)([x as tf.Tensor, m, v, gamma as tf.Tensor]);
        return {
          value: y,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const [sx, sm, sv, sg] = saved;
            return tf.engine().runKernel(
              BATCH_NORM_TRAIN_GRAD,
              { dy, x: sx, mean: sm, variance: sv, gamma: sg },
              attrs,
            ) as tf.Tensor[];
          },
        };
      });
      const y = normalize(input, f.gamma.read(), f.beta.read());
      // The stock layer's moving averages, v ← v − (v − batch)·(1 − momentum), with PyTorch's
      // unbiased batch variance.
      const unbiased = tf.mul(variance!, besselFactor(input.shape, axis));
      for (
        const [variable, batch] of [[f.movingMean, mean!], [f.movingVariance, unbiased]] as const
      ) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), 1 - f.momentum)));
        });
      }
      tf.dispose([mean!, variance!, unbiased]);
      return y;
    });
  }
}

/** n/(n − 1) for n values per channel (all axes but `axis`): the unbiased-variance factor. */
export function besselFactor(shape: readonly number[], axis: number): number {
  const n = shape.reduce((p, d, i) => (i === axis ? p : p * d), 1);
  return n > 1 ? n / (n - 1) : 1;
}

tf.serialization.registerClass(
  KtBatchNormalization as unknown as tf.serialization.SerializableConstructor<
    tf.serialization.Serializable
  >,
);

/** A {@linkcode KtBatchNormalization} layer (same arguments as `tfl.layers.batchNormalization`). */
export function batchNormalization(args: BatchNormArgs): tfl.layers.Layer {
  return new KtBatchNormalization(args);
}
