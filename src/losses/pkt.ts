/**
 * Probabilistic Knowledge Transfer (PKT, Passalis & Tefas, ECCV 2018) as pure tensor functions:
 * the official cosine-kernel loss (the default), the kernel/divergence variants of the authors'
 * later code ("pkth"), the supervised S-PKT term and the multi-layer sum. See DESIGN.md §1.
 *
 * Every function is safe on degenerate batches: all-zero rows, duplicated rows, B = 1, B = 2 and
 * magnitudes from 1e-20 to 1e20 give finite values and finite gradients. (Gradients need
 * tfjs-core's gradient functions registered; importing `@tensorflow/tfjs-layers` does that.)
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { KtError } from "../errors.ts";

/** Similarity kernels PKT can model the feature distribution with. */
export const PKT_KERNELS = [
  "cosine",
  "rbf",
  "adaptive-rbf",
  "student-t",
  "cauchy",
  "combined",
] as const;
/** A PKT similarity kernel; `cosine` is the official one. */
export type PktKernel = typeof PKT_KERNELS[number];

/** Divergences between the teacher (P) and student (Q) conditional probabilities. */
export const PKT_DIVERGENCES = [
  "kl",
  "jeffreys",
  "abs",
  "squared",
  "exponential",
  "kagan",
] as const;
/** A PKT divergence; `kl` is the official one. */
export type PktDivergence = typeof PKT_DIVERGENCES[number];

/** Options of {@linkcode pktLoss} and its relatives. Defaults reproduce the official loss. */
export interface PktOptions {
  /** Similarity kernel (default `cosine`). `combined` sums the cosine and student-t losses. */
  kernel?: PktKernel;
  /** Divergence, averaged over the B² entries (default `kl`). */
  divergence?: PktDivergence;
  /** Guard added inside logs and divisions, and to the row norms of the cosine kernel (1e-7). */
  eps?: number;
  /** Bandwidth of the `rbf` and `cauchy` kernels (default 1). */
  sigma?: number;
  /** Exponent of the `student-t` kernel 1/(1+d^δ) (default 1). */
  delta?: number;
}

/** The default PKT options (the official loss). */
export const PKT_DEFAULTS: Required<PktOptions> = {
  kernel: "cosine",
  divergence: "kl",
  eps: 1e-7,
  sigma: 1,
  delta: 1,
};

/** Smallest value kept under square roots and in row sums, so gradients never divide by zero. */
const TINY = 1e-30;
/** Squared distances are capped here so every kernel (and its gradient) stays finite in fp32. */
const MAX_SQUARED_DISTANCE = 1e30;

function resolveOptions(options: PktOptions, where: string): Required<PktOptions> {
  const o = { ...PKT_DEFAULTS, ...stripUndefined(options) };
  if (!(PKT_KERNELS as readonly string[]).includes(o.kernel)) {
    throw new KtError(`${where}: unknown kernel "${o.kernel}"`, {
      hint: `choose one of: ${PKT_KERNELS.join(", ")}`,
    });
  }
  if (!(PKT_DIVERGENCES as readonly string[]).includes(o.divergence)) {
    throw new KtError(`${where}: unknown divergence "${o.divergence}"`, {
      hint: `choose one of: ${PKT_DIVERGENCES.join(", ")}`,
    });
  }
  for (const key of ["eps", "sigma", "delta"] as const) {
    if (!(Number.isFinite(o[key]) && o[key] > 0)) {
      throw new KtError(`${where}: option ${key} must be a finite number > 0, got ${o[key]}`, {
        hint: `leave ${key} out to use the default ${PKT_DEFAULTS[key]}`,
      });
    }
  }
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Throws a {@linkcode KtError} unless `x` is a non-empty B×d matrix (with `rows` rows if given). */
export function checkMatrix(x: tf.Tensor, name: string, where: string, rows?: number): void {
  if (x.rank !== 2) {
    throw new KtError(`${where}: ${name} must be a B×d matrix, got shape [${x.shape.join(", ")}]`, {
      hint: "flatten the features to one row per sample first (tf.reshape(x, [B, -1]))",
    });
  }
  if (x.shape[0] === 0 || x.shape[1] === 0) {
    throw new KtError(`${where}: ${name} is empty (shape [${x.shape.join(", ")}])`, {
      hint: "pass at least one sample with at least one feature",
    });
  }
  if (rows !== undefined && x.shape[0] !== rows) {
    throw new KtError(
      `${where}: ${name} has ${x.shape[0]} rows but the student batch has ${rows}`,
      { hint: "student and teacher features must come from the same mini-batch, row for row" },
    );
  }
}

/** `x @ xᵀ` via an explicit transpose (the wasm backend's transposed matmul is slow). */
function gram(x: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(x, tf.transpose(x));
}

/**
 * Rows scaled to unit length the official way, ŝ = s / (‖s‖ + ε) with NaN → 0. Each row is first
 * divided by m = max(max|s|, 1), which leaves ŝ unchanged (ŝ = u / (‖u‖ + ε/m) with u = s/m) but
 * keeps ‖u‖² from overflowing at large magnitudes; the norm's square root is floored at 1e-15 so
 * all-zero rows have a finite gradient.
 */
function unitRows(x: tf.Tensor2D, eps: number): tf.Tensor2D {
  const m = tf.maximum(tf.max(tf.abs(x), 1, true), 1);
  const u = tf.div(x, m);
  const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(u), 1, true), TINY));
  const y = tf.div(u, tf.add(norm, tf.div(eps, m)));
  return tf.where(tf.isNaN(y), tf.zerosLike(y), y) as tf.Tensor2D;
}

/**
 * Squared euclidean distances D_ij = ‖a_i‖² + ‖a_j‖² − 2 a_iᵀa_j clamped at 0, with an exact-zero
 * diagonal. Computed on a / c with c = max(max|a|, 1) and scaled back, capped at 1e30.
 */
function squaredDistances(a: tf.Tensor2D): tf.Tensor2D {
  const b = a.shape[0];
  const c = tf.maximum(tf.max(tf.abs(a)), 1);
  const u = tf.div<tf.Tensor2D>(a, c);
  const sq = tf.sum(tf.square(u), 1, true);
  const d = tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(gram(u), 2)));
  const offDiagonal = tf.sub(1, tf.eye(b));
  // min(D', cap / c²) · c · c never overflows even when c² would.
  // (The cap is broadcast by hand: tfjs's Minimum gradient mishandles a broadcast operand.)
  const cap = tf.mul(tf.onesLike(d), tf.square(tf.div(Math.sqrt(MAX_SQUARED_DISTANCE), c)));
  return tf.mul(tf.mul(tf.mul(tf.minimum(d, cap), offDiagonal), c), c) as tf.Tensor2D;
}

/** Identity whose gradient is zero (tfjs has no stop-gradient op). */
const stopGradient = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/** One kernel of PKT (every kernel but `combined`, which sums them). */
export type SingleKernel = Exclude<PktKernel, "combined">;

/** The unnormalised kernel matrix K (B×B) of one kernel. */
function kernelMatrix(x: tf.Tensor2D, kernel: SingleKernel, o: Required<PktOptions>): tf.Tensor2D {
  if (kernel === "cosine") {
    const s = unitRows(x, o.eps);
    // Rounding can push ŝᵢᵀŝⱼ a hair below −1; clamp so K stays a valid (non-negative) similarity.
    return tf.maximum(tf.div(tf.add(gram(s), 1), 2), 0) as tf.Tensor2D;
  }
  const squared = tf.add(squaredDistances(x), 1e-6); // d² = max(D, 0) + 1e-6
  switch (kernel) {
    case "cauchy":
      return tf.div(1, tf.add(1, tf.div(squared, o.sigma * o.sigma))) as tf.Tensor2D;
    case "student-t": {
      // 1 / (1 + d^δ) = sigmoid(−δ·log d): no overflow for large d or δ.
      return tf.sigmoid(tf.mul(tf.log(squared), -o.delta / 2)) as tf.Tensor2D;
    }
    case "rbf":
    case "adaptive-rbf": {
      const d = tf.sqrt(squared);
      const sigma = kernel === "rbf" ? tf.scalar(o.sigma) : stopGradient(tf.mean(d));
      return tf.exp(tf.neg(tf.div(d, sigma))) as tf.Tensor2D;
    }
  }
}

/** Row-normalises a non-negative matrix into conditional probabilities (all-zero rows stay 0). */
function rowNormalise(k: tf.Tensor2D): tf.Tensor2D {
  return tf.div(k, tf.maximum(tf.sum(k, 1, true), TINY));
}

/**
 * The conditional probabilities P_ij = K_ij / Σ_k K_ik of one kernel over the rows of `x` (B×B).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { pktProbabilities } from "./pkt.ts";
 * await tf.setBackend("cpu");
 * const p = pktProbabilities(tf.tensor2d([[1, 0], [0, 1]]));
 * console.log(p.arraySync()); // [[2/3, 1/3], [1/3, 2/3]]
 * ```
 */
export function pktProbabilities(
  x: tf.Tensor2D,
  options: Omit<PktOptions, "divergence" | "kernel"> & { kernel?: SingleKernel } = {},
): tf.Tensor2D {
  checkMatrix(x, "features", "pktProbabilities()");
  const o = resolveOptions(options, "pktProbabilities()");
  return tf.tidy(() => rowNormalise(kernelMatrix(x, o.kernel as SingleKernel, o)));
}

/** Mean over the B² entries of the chosen divergence between P (teacher) and Q (student). */
function divergence(p: tf.Tensor2D, q: tf.Tensor2D, name: PktDivergence, eps: number): tf.Scalar {
  const logRatio = () => tf.sub(tf.log(tf.add(p, eps)), tf.log(tf.add(q, eps)));
  let terms: tf.Tensor;
  switch (name) {
    case "kl":
      terms = tf.mul(p, logRatio());
      break;
    case "jeffreys":
      terms = tf.mul(tf.sub(p, q), logRatio());
      break;
    case "abs":
      terms = tf.abs(tf.sub(p, q));
      break;
    case "squared":
      terms = tf.square(tf.sub(p, q));
      break;
    case "exponential":
      terms = tf.mul(p, tf.square(logRatio()));
      break;
    case "kagan":
      terms = tf.div(tf.square(tf.sub(p, q)), tf.add(p, eps));
      break;
  }
  return tf.mean(terms);
}

/**
 * The divergence between `target(k)` and the student's probabilities under kernel k, summed over
 * the kernels of `o.kernel` (`combined` = cosine + student-t).
 */
function matchTarget(
  student: tf.Tensor2D,
  target: (kernel: SingleKernel) => tf.Tensor2D,
  o: Required<PktOptions>,
): tf.Scalar {
  const kernels: SingleKernel[] = o.kernel === "combined" ? ["cosine", "student-t"] : [o.kernel];
  const losses = kernels.map((k) =>
    divergence(target(k), rowNormalise(kernelMatrix(student, k, o)), o.divergence, o.eps)
  );
  return (losses.length === 1 ? losses[0] : tf.addN(losses)) as tf.Scalar;
}

/**
 * PKT loss between student (B×ds) and teacher (B×dt) features of the same batch; ds and dt may
 * differ. With the defaults this is the official loss: ŝ = s/(‖s‖+ε) (NaN → 0),
 * K = (ŝŝᵀ + 1)/2 with the diagonal kept, row-normalised to Q (student) and P (teacher), and
 * L = (1/B²) Σ_ij P_ij log((P_ij + ε)/(Q_ij + ε)) = KL(teacher ‖ student).
 *
 * Variants (DESIGN.md §1, "pkth"): distance d_ij = sqrt(max(D_ij, 0) + 1e-6) with
 * `rbf` exp(−d/σ), `adaptive-rbf` (σ = mean d, no gradient through σ), `student-t` 1/(1+d^δ),
 * `cauchy` 1/(1+d²/σ²), `combined` (cosine + student-t losses summed); divergences `kl`,
 * `jeffreys` (p−q)(log p − log q), `abs`, `squared`, `exponential` p(log p − log q)²,
 * `kagan` (p−q)²/p — every log and division guarded by ε (log(p+ε), (p−q)²/(p+ε)).
 * The diagonal of D is exactly 0 (the official code gets it up to rounding).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { pktLoss } from "./pkt.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
 * const t = tf.tensor2d([[1, 2, 0], [0, 1, 1], [3, 0, 1]]);
 * console.log(pktLoss(s, t).dataSync()[0] > 0); // true
 * console.log(pktLoss(s, s).dataSync()[0]); // 0
 * ```
 */
export function pktLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  options: PktOptions = {},
): tf.Scalar {
  checkMatrix(student, "student features", "pktLoss()");
  checkMatrix(teacher, "teacher features", "pktLoss()", student.shape[0]);
  const o = resolveOptions(options, "pktLoss()");
  return tf.tidy(() => matchTarget(student, (k) => rowNormalise(kernelMatrix(teacher, k, o)), o));
}

/**
 * The label-derived target of S-PKT: P^y_ij = 1[y_i = y_j] / Σ_k 1[y_i = y_k] (diagonal included).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { labelProbabilities } from "./pkt.ts";
 * await tf.setBackend("cpu");
 * console.log(labelProbabilities(tf.tensor1d([0, 1, 0])).arraySync());
 * // [[0.5, 0, 0.5], [0, 1, 0], [0.5, 0, 0.5]]
 * ```
 */
export function labelProbabilities(labels: tf.Tensor1D): tf.Tensor2D {
  if (labels.rank !== 1 || labels.shape[0] === 0) {
    throw new KtError(
      `labelProbabilities(): labels must be a non-empty vector, got shape [${
        labels.shape.join(", ")
      }]`,
      { hint: "pass one integer label per sample" },
    );
  }
  return tf.tidy(() => {
    const b = labels.shape[0];
    const y = tf.cast(labels, "float32");
    const same = tf.cast(tf.equal(tf.reshape(y, [b, 1]), tf.reshape(y, [1, b])), "float32");
    return rowNormalise(same as tf.Tensor2D);
  });
}

/**
 * Supervised PKT (S-PKT): the student's conditional probabilities (same kernel and divergence as
 * {@linkcode pktLoss}) matched to the label target of {@linkcode labelProbabilities}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { supervisedPktLoss } from "./pkt.ts";
 * await tf.setBackend("cpu");
 * const s = tf.tensor2d([[1, 0], [0, 1], [1, 0.1]]);
 * console.log(supervisedPktLoss(s, tf.tensor1d([0, 1, 0])).dataSync()[0] > 0); // true
 * ```
 */
export function supervisedPktLoss(
  student: tf.Tensor2D,
  labels: tf.Tensor1D,
  options: PktOptions = {},
): tf.Scalar {
  checkMatrix(student, "student features", "supervisedPktLoss()");
  if (labels.rank !== 1 || labels.shape[0] !== student.shape[0]) {
    throw new KtError(
      `supervisedPktLoss(): labels must have shape [${student.shape[0]}], got [${
        labels.shape.join(", ")
      }]`,
      { hint: "pass one label per student row" },
    );
  }
  const o = resolveOptions(options, "supervisedPktLoss()");
  return tf.tidy(() => {
    const target = labelProbabilities(labels);
    return matchTarget(student, () => target, o);
  });
}

/** One student/teacher layer pair of {@linkcode multiLayerPktLoss}. */
export interface PktPair {
  /** The student layer's output, B×ds. */
  student: tf.Tensor2D;
  /** The teacher layer's output, B×dt. */
  teacher: tf.Tensor2D;
  /** The pair's weight in the sum. */
  weight: number;
}

/**
 * Multi-layer PKT: L = Σ_l w_l · pktLoss(student_l, teacher_l). Per-epoch weight decay is the
 * caller's business (the `multi-pkt` plugin passes w_l · decay^epoch).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { multiLayerPktLoss } from "./pkt.ts";
 * await tf.setBackend("cpu");
 * const a = tf.tensor2d([[1, 0], [0, 1]]);
 * const b = tf.tensor2d([[1, 1], [0, 1]]);
 * const l = multiLayerPktLoss([{ student: a, teacher: b, weight: 2 }, { student: b, teacher: a, weight: 1 }]);
 * console.log(l.dataSync()[0] > 0); // true
 * ```
 */
export function multiLayerPktLoss(pairs: PktPair[], options: PktOptions = {}): tf.Scalar {
  if (pairs.length === 0) {
    throw new KtError("multiLayerPktLoss(): no layer pairs given", {
      hint: "pass at least one { student, teacher, weight } pair",
    });
  }
  for (const [i, p] of pairs.entries()) {
    if (!Number.isFinite(p.weight)) {
      throw new KtError(`multiLayerPktLoss(): pair ${i} has weight ${p.weight}`, {
        hint: "weights must be finite numbers",
      });
    }
  }
  return tf.tidy(() =>
    tf.addN(pairs.map((p) => tf.mul(pktLoss(p.student, p.teacher, options), p.weight))) as tf.Scalar
  );
}
