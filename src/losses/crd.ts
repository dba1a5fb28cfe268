/**
 * Contrastive Representation Distillation (CRD, Tian et al., ICLR 2020) in RepDistiller's form:
 * embeddings of student and teacher representations, two memory banks holding one embedding per
 * training sample, and an NCE loss that tells each sample's positive pair from K negatives drawn
 * from the banks. The pieces are pure functions; the `crd` loss plugin holds the state.
 * See DESIGN.md §1.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";
import type { Rng } from "../rng.ts";
import { checkMatrix } from "./pkt.ts";
import { checkNumber, l2Normalize } from "./tensor.ts";

/** RepDistiller's guard inside the NCE probabilities. */
const NCE_EPS = 1e-7;

/**
 * The contrast indices of one batch, laid out for the loss: `positive` holds each row's positive
 * bank index (B), `negative` counts how often each bank row was drawn as one of the K negatives
 * (B×N). The NCE sum over the drawn negatives becomes a weighted sum over the whole bank, so no
 * gradient flows through a gather and memory stays at B·N values instead of B·K·d.
 */
export interface ContrastSample {
  /** Each sample's positive: its row in the memory bank, B. */
  positive: tf.Tensor1D;
  /** How often each bank row was drawn as a negative of each sample, B×N. */
  negative: tf.Tensor2D;
  /** Negatives per sample, K. */
  k: number;
}

/**
 * Builds a {@linkcode ContrastSample} from RepDistiller's `contrast_idx`: B rows of K + 1 bank
 * indices, the positive first, flattened row by row.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { contrastSample } from "./crd.ts";
 * await tf.setBackend("cpu");
 * const s = contrastSample(Int32Array.from([0, 2, 2, 1, 0, 3]), 2, 4); // K = 2
 * console.log(s.positive.arraySync(), s.negative.arraySync()); // [0, 1] [[0, 0, 2, 0], [1, 0, 0, 1]]
 * ```
 */
export function contrastSample(
  contrastIdx: Int32Array,
  batch: number,
  dataSize: number,
): ContrastSample {
  const width = contrastIdx.length / batch;
  if (!Number.isInteger(width) || width < 2) {
    throw new KtError(
      `contrastSample(): ${contrastIdx.length} indices are not ${batch} rows of 1 positive + K ≥ 1 negatives`,
      { hint: "pass B·(K + 1) indices, each row's positive first" },
    );
  }
  const pos = new Int32Array(batch);
  const neg = new Float32Array(batch * dataSize);
  for (let i = 0; i < batch; i++) {
    for (let j = 0; j < width; j++) {
      const n = contrastIdx[i * width + j];
      if (!(n >= 0 && n < dataSize)) {
        throw new KtError(`contrastSample(): index ${n} is outside the bank of ${dataSize} rows`, {
          hint: "indices are dataset rows, 0 … N − 1",
        });
      }
      if (j === 0) pos[i] = n;
      else neg[i * dataSize + n] += 1;
    }
  }
  return {
    positive: tf.tensor1d(pos, "int32"),
    negative: tf.tensor2d(neg, [batch, dataSize]),
    k: width - 1,
  };
}

/** ⟨m_pos(i), v_i⟩/T for each anchor (B) and ⟨m_j, v_i⟩/T for every bank row (B×N). */
function scaledScores(
  anchor: tf.Tensor2D,
  memory: tf.Tensor2D,
  sample: ContrastSample,
  temperature: number,
): [tf.Tensor1D, tf.Tensor2D] {
  const scaled = tf.div<tf.Tensor2D>(anchor, temperature); // B×d, cheaper than scaling B×N
  const positive = tf.sum(tf.mul(scaled, tf.gather(memory, sample.positive)), 1) as tf.Tensor1D;
  // (The transposed-operand matmul is faster here than an explicit transpose of the N×d bank.)
  return [positive, tf.matMul(scaled, memory, false, true)];
}

function checkInputs(anchor: tf.Tensor2D, memory: tf.Tensor2D, s: ContrastSample, where: string) {
  checkMatrix(anchor, "anchor embeddings", where);
  checkMatrix(memory, "memory bank", where);
  const [b, d] = anchor.shape;
  const [n, dm] = memory.shape;
  if (
    dm !== d || s.positive.shape[0] !== b || s.negative.shape[0] !== b || s.negative.shape[1] !== n
  ) {
    throw new KtError(
      `${where}: anchors [${b}, ${d}], memory [${n}, ${dm}] and sample [${
        s.negative.shape.join(", ")
      }] do not fit`,
      { hint: "the sample must be B×N for B anchors and a bank of N rows of the same width" },
    );
  }
}

/**
 * RepDistiller's normalisation constant Z of the NCE probabilities, fixed from the first batch:
 * the mean of exp(⟨m_j, v_i⟩/T) over the drawn (positive and negative) entries, times N.
 */
export function crdNormalizer(
  anchor: tf.Tensor2D,
  memory: tf.Tensor2D,
  sample: ContrastSample,
  temperature: number,
): number {
  checkInputs(anchor, memory, sample, "crdNormalizer()");
  return tf.tidy(() => {
    const [positive, all] = scaledScores(anchor, memory, sample, temperature);
    const drawn = tf.add(tf.sum(tf.exp(positive)), tf.sum(tf.mul(tf.exp(all), sample.negative)));
    const count = anchor.shape[0] * (sample.k + 1);
    return (drawn.dataSync()[0] / count) * memory.shape[0];
  });
}

/** Options of {@linkcode crdContrastLoss}. */
export interface CrdContrastOptions {
  /** NCE temperature T (RepDistiller: 0.07). */
  temperature: number;
  /** The normalisation constant Z ({@linkcode crdNormalizer} of the first batch). */
  normalizer: number;
}

/**
 * One side of CRD's NCE loss (RepDistiller's `ContrastMemory` scores + `ContrastLoss`): for
 * anchors v_i (B×d) against a memory bank (N×d), P_ij = exp(⟨m_j, v_i⟩/T)/Z and, with m = K and
 * P_n = 1/N,
 * L = −(1/B)[Σ_i log(P_i,pos / (P_i,pos + m·P_n + ε)) + Σ_i Σ_neg log(m·P_n / (P_i,neg + m·P_n + ε))],
 * ε = 1e-7, the sums running over the entries of `sample`. Computed in log space (softplus), the
 * same numbers without overflow for any scores. The bank is a constant.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { contrastSample, crdContrastLoss } from "./crd.ts";
 * await tf.setBackend("cpu");
 * const memory = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
 * const v = tf.tensor2d([[1, 0]]);
 * const sample = contrastSample(Int32Array.from([0, 1, 2]), 1, 3);
 * const loss = crdContrastLoss(v, memory, sample, { temperature: 0.07, normalizer: 3 });
 * console.log(loss.dataSync()[0] > 0); // true
 * ```
 */
export function crdContrastLoss(
  anchor: tf.Tensor2D,
  memory: tf.Tensor2D,
  sample: ContrastSample,
  options: CrdContrastOptions,
): tf.Scalar {
  const where = "crdContrastLoss()";
  checkInputs(anchor, memory, sample, where);
  checkNumber(options.temperature, "temperature", where, true);
  checkNumber(options.normalizer, "normalizer", where, true);
  const n = memory.shape[0];
  const noise = sample.k / n; // m · P_n
  const logC = Math.log(noise + NCE_EPS);
  return tf.tidy(() => {
    // u = log P − log(m·P_n + ε); then log(P/(P + c)) = −softplus(−u) and
    // log(m·P_n/(P + c)) = log(m·P_n) − log c − softplus(u), with c = m·P_n + ε.
    const shift = Math.log(options.normalizer) + logC;
    const [positive, all] = scaledScores(anchor, memory, sample, options.temperature);
    const logD1 = tf.neg(tf.softplus(tf.neg(tf.sub(positive, shift))));
    // Σ n_ij·log D0_ij = (log(m·P_n) − log c)·Σ n_ij − Σ n_ij·softplus(u_ij), Σ n_ij = B·K.
    const drawn = anchor.shape[0] * sample.k;
    const negatives = tf.sub(
      (Math.log(noise) - logC) * drawn,
      tf.sum(tf.mul(sample.negative, tf.softplus(tf.sub(all, shift)))),
    );
    const total = tf.add(tf.sum(logD1), negatives);
    return tf.div(tf.neg(total), anchor.shape[0]) as tf.Scalar;
  });
}

/**
 * The memory bank after one batch (RepDistiller's momentum update): rows `indices` become
 * normalize(momentum · m_i + (1 − momentum) · v_i); the others are kept. Returns a new tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { crdUpdateMemory } from "./crd.ts";
 * await tf.setBackend("cpu");
 * const m = tf.tensor2d([[1, 0], [0, 1]]);
 * const next = crdUpdateMemory(m, Int32Array.from([1]), tf.tensor2d([[1, 0]]), 0.5);
 * console.log(next.arraySync()); // [[1, 0], [0.7071, 0.7071]]
 * ```
 */
export function crdUpdateMemory(
  memory: tf.Tensor2D,
  indices: Int32Array,
  values: tf.Tensor2D,
  momentum: number,
): tf.Tensor2D {
  checkMatrix(memory, "memory bank", "crdUpdateMemory()");
  checkMatrix(values, "new embeddings", "crdUpdateMemory()", indices.length);
  checkNumber(momentum, "momentum", "crdUpdateMemory()");
  return tf.tidy(() => {
    const idx = tf.tensor2d(indices, [indices.length, 1], "int32");
    const old = tf.gatherND(memory, idx) as tf.Tensor2D;
    const mixed = tf.add(tf.mul(old, momentum), tf.mul(values, 1 - momentum)) as tf.Tensor2D;
    return tf.tensorScatterUpdate(memory, idx, l2Normalize(mixed, 1));
  });
}

/** How CRD picks each sample's positive: itself (`exact`) or a random same-class sample. */
export const CRD_MODES = ["exact", "relax"] as const;
/** A CRD sampling mode. */
export type CrdMode = typeof CRD_MODES[number];

/**
 * RepDistiller's contrast sampler (`CIFAR100InstanceSample`): for a batch of dataset rows it
 * returns B rows of K + 1 bank indices — the positive (the row itself in `exact` mode, a random
 * row of the same class in `relax` mode), then K negatives from the other classes, without
 * replacement when a class has at least K of them, with replacement otherwise.
 *
 * @example
 * ```ts
 * import { createRng } from "../rng.ts";
 * import { contrastSampler } from "./crd.ts";
 * const draw = contrastSampler(Int32Array.from([0, 0, 1, 1, 2]), 2, "exact", createRng(1));
 * const idx = draw(Int32Array.from([4]));
 * console.log(idx[0], [idx[1], idx[2]].every((j) => j < 4)); // 4 true: negatives of classes 0, 1
 * ```
 */
export function contrastSampler(
  labels: Int32Array,
  k: number,
  mode: CrdMode,
  rng: Rng,
): (indices: Int32Array) => Int32Array {
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new KtError(`contrastSampler(): K must be an integer ≥ 1, got ${k}`, {
      hint: "RepDistiller's default is 16384 negatives",
    });
  }
  const classes = Math.max(...labels) + 1;
  const members: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((y, i) => members[y].push(i));
  // Each class's negatives, shuffled in place as they are drawn (a partial Fisher–Yates per draw
  // keeps the array a permutation, so every draw is uniform without replacement).
  const negatives = members.map((_, c) =>
    Int32Array.from(members.flatMap((m, j) => (j === c ? [] : m)))
  );
  for (const [c, neg] of negatives.entries()) {
    if (neg.length === 0 && members[c].length > 0) {
      throw new KtError("CRD needs at least two classes in the training data: no negatives", {
        hint: "train on data with more than one class",
      });
    }
  }
  return (indices) => {
    const out = new Int32Array(indices.length * (k + 1));
    indices.forEach((row, i) => {
      const y = labels[row];
      const base = i * (k + 1);
      const same = members[y];
      out[base] = mode === "exact" ? row : same[rng.int(same.length)];
      const pool = negatives[y];
      if (k > pool.length) {
        for (let j = 1; j <= k; j++) out[base + j] = pool[rng.int(pool.length)];
        return;
      }
      for (let j = 0; j < k; j++) {
        const pick = j + rng.int(pool.length - j);
        const v = pool[pick];
        pool[pick] = pool[j];
        pool[j] = v;
        out[base + 1 + j] = v;
      }
    });
    return out;
  };
}

/** A linear embedding x·W + b followed by L2 normalisation (RepDistiller's `Embed`). */
export interface CrdEmbedding {
  /** Weights, d_in×d_out. */
  kernel: tf.Tensor2D;
  /** Bias, d_out. */
  bias: tf.Tensor1D;
}

/**
 * RepDistiller's `Embed`: normalize(x·W + b) per row (F.normalize's eps 1e-12 where the
 * reference divides by the bare norm, so a zero row gives zeros, not NaN).
 */
export function crdEmbed(x: tf.Tensor2D, e: CrdEmbedding): tf.Tensor2D {
  return tf.tidy(() => l2Normalize(tf.add(tf.matMul(x, e.kernel), e.bias) as tf.Tensor2D, 1));
}
