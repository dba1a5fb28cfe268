/**
 * The in-memory dataset every dataset plugin yields, and the pure helpers that subset, shuffle,
 * normalise and batch it without per-sample copies.
 * @module
 */
import { createRng, permutation, type Rng } from "./rng.ts";
import { KtError } from "./errors.ts";

/** Augmentations a training loop applies per batch (never to evaluation data). */
export interface Augmentation {
  /** Random crop after zero padding by this many pixels on each side (CIFAR: 4). */
  cropPadding?: number;
  /** Random horizontal flip with probability 0.5. */
  horizontalFlip?: boolean;
}

/** A labelled image dataset held in memory, NHWC float32. */
export interface Dataset {
  /** Human-readable name, e.g. `mnist/train`. */
  name: string;
  /** Images, `size × height × width × channels`, row-major (NHWC). */
  x: Float32Array;
  /** Labels in `[0, numClasses)`. */
  y: Int32Array;
  /** `[height, width, channels]`. */
  shape: [number, number, number];
  /** Number of samples. */
  size: number;
  /** Number of classes. */
  numClasses: number;
  /** Optional class names, index = label. */
  classNames?: string[];
  /** Augmentation a trainer should apply to batches of this dataset. */
  augment?: Augmentation;
}

/** Normalisation of raw 0..255 pixels. */
export type Normalization =
  | "none" // keep 0..255
  | "unit" // x / 255
  | "standard" // (x/255 - mean) / std per channel, given or computed on this data
  | { mean: number[]; std: number[] };

/** Number of features per sample (h·w·c). */
export function sampleSize(ds: Pick<Dataset, "shape">): number {
  return ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/** Builds a dataset from raw bytes (0..255), applying `normalization`. */
export function fromBytes(
  name: string,
  bytes: Uint8Array,
  labels: Int32Array,
  shape: [number, number, number],
  numClasses: number,
  normalization: Normalization = "unit",
): Dataset {
  const d = shape[0] * shape[1] * shape[2];
  const size = labels.length;
  if (bytes.length !== size * d) {
    throw new KtError(
      `${name}: ${bytes.length} pixel bytes do not match ${size} labels of shape ${
        shape.join("×")
      }`,
      { hint: "the dataset files are inconsistent; delete them so they are fetched again" },
    );
  }
  const x = new Float32Array(size * d);
  for (let i = 0; i < x.length; i++) x[i] = bytes[i] / 255;
  const ds: Dataset = { name, x, y: labels, shape, size, numClasses };
  return normalize(ds, normalization === "none" ? { mean: [0], std: [1 / 255] } : normalization);
}

/** Applies a normalisation in place to data already scaled to [0,1] ("unit" leaves it). */
export function normalize(ds: Dataset, normalization: Normalization): Dataset {
  if (normalization === "unit" || normalization === "none") return ds;
  const c = ds.shape[2];
  let mean: number[];
  let std: number[];
  if (normalization === "standard") {
    mean = new Array(c).fill(0);
    const sq = new Array(c).fill(0);
    for (let i = 0; i < ds.x.length; i++) {
      mean[i % c] += ds.x[i];
      sq[i % c] += ds.x[i] * ds.x[i];
    }
    const count = ds.x.length / c;
    mean = mean.map((m) => m / count);
    std = sq.map((s, k) => Math.sqrt(Math.max(s / count - mean[k] * mean[k], 1e-12)));
  } else {
    mean = normalization.mean;
    std = normalization.std;
    if (mean.length !== 1 && mean.length !== c || std.length !== mean.length) {
      throw new KtError(`normalization mean/std need 1 or ${c} values`, {
        hint: `give e.g. { mean: [${new Array(c).fill(0.5).join(", ")}], std: [...] }`,
      });
    }
  }
  for (let i = 0; i < ds.x.length; i++) {
    const k = mean.length === 1 ? 0 : i % c;
    ds.x[i] = (ds.x[i] - mean[k]) / std[k];
  }
  return ds;
}

/** A new dataset holding the samples at `indices` (in that order). */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const d = sampleSize(ds);
  const x = new Float32Array(indices.length * d);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    x.set(ds.x.subarray(j * d, (j + 1) * d), i * d);
    y[i] = ds.y[j];
  }
  return { ...ds, name, x, y, size: indices.length };
}

/**
 * Indices of a stratified subset of `limit` samples: each class keeps its share (largest
 * remainder rounding), samples chosen by a seeded shuffle, returned in original order.
 */
export function stratifiedIndices(
  labels: Int32Array,
  numClasses: number,
  limit: number,
  seed = 0,
): Int32Array {
  if (limit >= labels.length) return Int32Array.from({ length: labels.length }, (_, i) => i);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const exact = byClass.map((c) => (c.length * limit) / labels.length);
  const take = exact.map(Math.floor);
  let rest = limit - take.reduce((a, b) => a + b, 0);
  const order = exact.map((e, k) => ({ k, r: e - Math.floor(e) })).sort((a, b) =>
    b.r - a.r || a.k - b.k
  );
  for (const { k } of order) {
    if (rest-- <= 0) break;
    take[k]++;
  }
  const rng = createRng(seed);
  const chosen: number[] = [];
  byClass.forEach((members, k) => {
    const p = permutation(members.length, rng);
    for (let i = 0; i < take[k]; i++) chosen.push(members[p[i]]);
  });
  return Int32Array.from(chosen.sort((a, b) => a - b));
}

/** Stratified subset of `limit` samples (see {@linkcode stratifiedIndices}). */
export function limitDataset(ds: Dataset, limit: number | undefined, seed = 0): Dataset {
  if (limit === undefined || limit >= ds.size) return ds;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new KtError(`limit must be a positive integer, got ${limit}`);
  }
  return subset(ds, stratifiedIndices(ds.y, ds.numClasses, limit, seed));
}

/** Copies the samples at `idx[start..end)` into `out` (a reusable batch buffer); returns labels. */
export function gatherBatch(
  ds: Dataset,
  idx: Int32Array,
  start: number,
  end: number,
  out: Float32Array,
  outLabels: Int32Array,
  augment?: Augmentation,
  rng?: Rng,
): void {
  const d = sampleSize(ds);
  const [h, w, c] = ds.shape;
  const pad = augment?.cropPadding ?? 0;
  const flip = augment?.horizontalFlip ?? false;
  for (let b = 0; b < end - start; b++) {
    const j = idx[start + b];
    outLabels[b] = ds.y[j];
    const src = ds.x.subarray(j * d, (j + 1) * d);
    const dst = out.subarray(b * d, (b + 1) * d);
    if (!augment || (!pad && !flip) || !rng) {
      dst.set(src);
      continue;
    }
    const dy = pad ? rng.int(2 * pad + 1) - pad : 0;
    const dx = pad ? rng.int(2 * pad + 1) - pad : 0;
    const mirror = flip && rng.next() < 0.5;
    for (let r = 0; r < h; r++) {
      const sr = r + dy;
      for (let col = 0; col < w; col++) {
        const sc0 = col + dx;
        const sc = mirror ? w - 1 - sc0 : sc0;
        const o = (r * w + col) * c;
        if (sr < 0 || sr >= h || sc0 < 0 || sc0 >= w) {
          for (let k = 0; k < c; k++) dst[o + k] = 0;
        } else {
          const s = (sr * w + sc) * c;
          for (let k = 0; k < c; k++) dst[o + k] = src[s + k];
        }
      }
    }
  }
}
