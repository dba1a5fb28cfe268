/**
 * {@linkcode KtAdamOptimizer}: tfjs's Adam with each variable's step as ONE fused wasm kernel
 * (`KtAdamUpdate`, bit-identical to the stock arithmetic) instead of ~14 elementwise kernels.
 * Other backends run the stock optimizer. Same state, same serialised name ("Adam").
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { ADAM_UPDATE } from "./kernels/adam.ts";

/** The AdamOptimizer fields this subclass reads (runtime fields of tfjs's class). */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
}

/** What `applyGradients` receives: gradients by variable name, as a map or a list. */
export type GradientList = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

/** Adam (default β1 0.9, β2 0.999, ε the backend's unless given) with the fused step on wasm. */
export class KtAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: GradientList): void {
    if (tf.getBackend() !== "wasm" || tf.getKernel(ADAM_UPDATE, "wasm") === undefined) {
      return super.applyGradients(variableGradients);
    }
    const s = this as unknown as AdamFields;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    tf.tidy(() => {
      const a1 = tf.sub(1, s.accBeta1);
      const a2 = tf.sub(1, s.accBeta2);
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        s.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        s.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = Array.isArray(variableGradients)
          ? variableGradients[i].tensor
          : (variableGradients as tf.NamedTensorMap)[name];
        if (gradient == null) return;
        const m = s.accumulatedFirstMoment[i]!.variable;
        const v = s.accumulatedSecondMoment[i]!.variable;
        if (value.dtype !== "float32" || gradient.dtype !== "float32") {
          throw new Error(`Adam: variable ${name} is ${value.dtype}, not float32`);
        }
        const [newValue, newM, newV] = tf.engine().runKernel(
          ADAM_UPDATE,
          { value, m, v, gradient, a1, a2 },
          {
            beta1: s.beta1,
            beta2: s.beta2,
            epsilon: s.epsilon,
            learningRate: s.learningRate,
          },
        ) as tf.Tensor[];
        m.assign(newM);
        v.assign(newV);
        value.assign(newValue);
      });
      s.accBeta1.assign(tf.mul(s.accBeta1, s.beta1));
      s.accBeta2.assign(tf.mul(s.accBeta2, s.beta2));
    });
    this.incrementIterations();
  }
}
