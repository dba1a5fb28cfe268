/**
 * Hint losses: the official PKT repository's `hint-random` / `hint-optimized` baselines on the
 * representation layer, and the FitNets hint regression. See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";
import { createRng } from "../rng.ts";
import { checkMatrix } from "./pkt.ts";

/**
 * A fixed Gaussian projection matrix (dIn×dOut) with entries N(0, 1/dOut), so x·R keeps ‖x‖ in
 * expectation. The same seed gives the same matrix on every backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { randomProjection } from "./hint.ts";
 * await tf.setBackend("cpu");
 * console.log(randomProjection(128, 64, 7).shape); // [128, 64]
 * ```
 */
export function randomProjection(dIn: number, dOut: number, seed: number): tf.Tensor2D {
  for (const [name, v] of [["dIn", dIn], ["dOut", dOut]] as const) {
    if (!(Number.isInteger(v) && v > 0)) {
      throw new KtError(`randomProjection(): ${name} must be a positive integer, got ${v}`, {
        hint: "pass the feature dimensions of the two representations",
      });
    }
  }
  const rng = createRng(seed);
  const scale = 1 / Math.sqrt(dOut);
  const values = new Float32Array(dIn * dOut);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
  return tf.tensor2d(values, [dIn, dOut]);
}

/** Options of {@linkcode hintLoss}. */
export interface HintOptions {
  /**
   * `random`: the projection (dt×ds) maps the teacher features to ds; `optimized`: the
   * projection (ds×dt, learned) maps the student features to dt.
   */
  mode: "random" | "optimized";
}

/** Σ‖a − b‖² / B. */
function sumSquaredPerSample(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.square(tf.sub(a, b))), a.shape[0]) as tf.Scalar;
}

/**
 * The official PKT repository's hint baselines on the representation layer (MSE summed over
 * features, averaged over the batch):
 * - `random`: L = (1/B) Σ_i ‖s_i − t_i R‖², R a fixed random dt×ds matrix;
 * - `optimized`: L = (1/B) Σ_i ‖s_i W − t_i‖², W a learned ds×dt matrix.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { hintLoss } from "./hint.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor2d([[1, 2]]);
 * const t = tf.tensor2d([[1, 2, 3]]);
 * const w = tf.tensor2d([[1, 0, 0], [0, 1, 0]]); // ds×dt
 * console.log(hintLoss(s, t, w, { mode: "optimized" }).dataSync()[0]); // 9
 * ```
 */
export function hintLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  projection: tf.Tensor2D,
  options: HintOptions,
): tf.Scalar {
  const where = `hintLoss(mode: ${options.mode})`;
  checkMatrix(student, "student features", where);
  checkMatrix(teacher, "teacher features", where, student.shape[0]);
  const ds = student.shape[1];
  const dt = teacher.shape[1];
  if (options.mode !== "random" && options.mode !== "optimized") {
    throw new KtError(`hintLoss(): unknown mode "${options.mode}"`, {
      hint: "choose random or optimized",
    });
  }
  const [rows, cols] = options.mode === "random" ? [dt, ds] : [ds, dt];
  if (projection.rank !== 2 || projection.shape[0] !== rows || projection.shape[1] !== cols) {
    throw new KtError(
      `${where}: projection must be ${rows}×${cols}, got [${projection.shape.join(", ")}]`,
      {
        hint: options.mode === "random"
          ? "random maps teacher features to the student's width: randomProjection(dt, ds, seed)"
          : "optimized maps student features to the teacher's width: a ds×dt matrix",
      },
    );
  }
  return tf.tidy(() =>
    options.mode === "random"
      ? sumSquaredPerSample(student, tf.matMul(teacher, projection))
      : sumSquaredPerSample(tf.matMul(student, projection), teacher)
  );
}

/** A linear regressor r(h) = h·W + b applied on the last axis (a 1×1 convolution for NHWC). */
export interface Regressor {
  /** Input channels × output channels. */
  kernel: tf.Tensor2D;
  /** Output channels (optional). */
  bias?: tf.Tensor1D;
}

/**
 * Applies a {@linkcode Regressor} on the last axis of a B×d or B×H×W×C hint: a linear layer for
 * matrices, a 1×1 convolution for NHWC maps.
 */
export function applyRegressor(hint: tf.Tensor, regressor: Regressor): tf.Tensor {
  const c = hint.shape[hint.rank - 1];
  const [cin, cout] = regressor.kernel.shape;
  if (hint.rank < 2 || c !== cin) {
    throw new KtError(
      `fitnets regressor expects ${cin} input channels on the last axis, got hint shape [${
        hint.shape.join(", ")
      }]`,
      { hint: "build the regressor from the student hint layer's channel count" },
    );
  }
  return tf.tidy(() => {
    const flat = tf.reshape(hint, [-1, c]) as tf.Tensor2D;
    let out: tf.Tensor = tf.matMul(flat, regressor.kernel);
    if (regressor.bias) out = tf.add(out, regressor.bias);
    return tf.reshape(out, [...hint.shape.slice(0, -1), cout]);
  });
}

/**
 * FitNets hint loss: MSE(r(h_s), h_t), the mean over all elements, with r a learned linear
 * regressor (a 1×1 convolution for NHWC hints). When the teacher hint arrives flattened
 * (B×H·W·C) the regressed student hint is flattened the same way (NHWC order).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { fitnetsLoss } from "./hint.ts";
 * await tf.setBackend("cpu");
 * const hs = tf.tensor2d([[1, 2]]);
 * const ht = tf.tensor2d([[2, 4]]);
 * const r = { kernel: tf.tensor2d([[2, 0], [0, 2]]) };
 * console.log(fitnetsLoss(hs, ht, r).dataSync()[0]); // 0
 * ```
 */
export function fitnetsLoss(
  studentHint: tf.Tensor,
  teacherHint: tf.Tensor,
  regressor: Regressor,
): tf.Scalar {
  if (studentHint.shape[0] !== teacherHint.shape[0]) {
    throw new KtError(
      `fitnetsLoss(): student hint has ${studentHint.shape[0]} samples, teacher hint ${
        teacherHint.shape[0]
      }`,
      { hint: "both hints must come from the same mini-batch" },
    );
  }
  return tf.tidy(() => {
    const mapped = applyRegressor(studentHint, regressor);
    if (mapped.size !== teacherHint.size) {
      throw new KtError(
        `fitnetsLoss(): the regressed student hint has shape [${
          mapped.shape.join(", ")
        }] but the teacher hint [${teacherHint.shape.join(", ")}]`,
        {
          hint: "pick hint layers with the same spatial size, and a regressor whose output " +
            "channels match the teacher's",
        },
      );
    }
    return tf.mean(tf.square(tf.sub(tf.reshape(mapped, teacherHint.shape), teacherHint)));
  });
}
