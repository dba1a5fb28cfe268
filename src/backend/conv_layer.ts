/**
 * {@linkcode KtConv2D}: tfjs-layers' `Conv2D` that, in training, runs a bias-free linear conv as
 * the plain `conv2d` op instead of `fused.conv2d`. The fused op's gradient is one custom function
 * that always computes the input gradient too — for a model's first conv that is the gradient
 * with respect to the images, thrown away (on the paper's tiny student: 5 ms of a 43 ms step).
 * The plain op's gradient is computed per input, so tfjs skips what no variable needs.
 * Same weights, same outputs, same serialised class name ("Conv2D"); registered for loading.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";

/** The constructor arguments of tfjs-layers' conv2d. */
import type { ConvLayerArgs as Conv2DArgs } from "@tensorflow/tfjs-layers/dist/layers/convolutional.js";
export type { Conv2DArgs };

/** The Conv2D fields this subclass reads. */
interface ConvFields {
  rank: number;
  bias: tfl.LayerVariable | null;
  kernel: tfl.LayerVariable;
  activation: { getClassName(): string };
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
}

type LayerCtor = new (args: Conv2DArgs) => tfl.layers.Layer;

/** tfjs-layers' own class (not exported by name). */
const StockConv2D = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as LayerCtor;

/** Conv2D whose bias-free linear form trains through the plain conv2d op. */
export class KtConv2D extends StockConv2D {
  /** The stock class name: saved models load anywhere tfjs-layers runs. */
  static className = "Conv2D";

  override call(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] {
    const f = this as unknown as ConvFields;
    const plain = kwargs["training"] === true && f.rank === 2 && f.bias == null &&
      f.activation.getClassName() === "linear" && f.dataFormat === "channelsLast" &&
      (f.padding === "same" || f.padding === "valid");
    if (!plain) return super.call(inputs, kwargs);
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() =>
      tf.conv2d(
        input as tf.Tensor4D,
        f.kernel.read() as tf.Tensor4D,
        f.strides as [number, number],
        f.padding as "same" | "valid",
        "NHWC",
        f.dilationRate as [number, number],
      )
    );
  }
}

tf.serialization.registerClass(
  KtConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);

/** A {@linkcode KtConv2D} layer (same arguments as `tfl.layers.conv2d`). */
export function conv2d(args: Conv2DArgs): tfl.layers.Layer {
  return new KtConv2D(args);
}
