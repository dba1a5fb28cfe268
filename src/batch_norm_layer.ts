/**
 * {@linkcode KtBatchNormalization}: tfjs-layers' `BatchNormalization` whose training step runs
 * kt's fused wasm kernels (`src/kernels/batch_norm.ts`) — two passes forward, two backward —
 * instead of moments + FusedBatchNorm and their ~20-kernel gradient. Same weights, same
 * serialised class name and config (saved models stay plain tfjs models), same moving-average
 * update; inference, other backends and other layouts run the stock layer unchanged.
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
export type BatchNormArgs = Parameters<typeof tfl.layers.batchNormalization>[0];

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
    if (!fused) return super.call(inputs, kwargs);
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
      // The stock layer's moving averages: v ← v − (v − batch)·(1 − momentum).
      for (
        const [variable, batch] of [[f.movingMean, mean!], [f.movingVariance, variance!]] as const
      ) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), 1 - f.momentum)));
        });
      }
      tf.dispose([mean!, variance!]);
      return y;
    });
  }
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
