/**
 * `precomputed` teacher: features read from a file, one row per sample of the dataset in the
 * same order (e.g. text embeddings of each image's caption, for cross-modal transfer).
 *
 * - `.npy`: float32 or float64, shape `[samples, ...]` (trailing axes are flattened).
 * - anything else: raw little-endian float32, row-major; `dim` (values per sample) is required.
 *
 * `logits` (optional): a second file of the same kind with one value per class for each sample,
 * for the methods that read teacher logits (Hinton, DKD, DIST).
 *
 * Relative paths start at the experiment file's folder.
 * @module
 */
import {
  type Dataset,
  defineTeacher,
  type FeatureTable,
  filePath,
  inputFileSize,
  KtError,
  OptionError,
  type PluginContext,
  readInputFile,
  readNpy,
  readNpyHeader,
  resolvePath,
  z,
} from "../../mod.ts";

/**
 * Rows and values per row of a feature or logits file, from its header (or size) alone. `option`
 * names the option that gave the file, for the errors (a raw file's width is option `dim` for
 * features, the class count for logits).
 */
async function layoutOf(
  file: string,
  dim: number | undefined,
  option: "file" | "logits" = "file",
): Promise<{ rows: number; dim: number }> {
  const what = option === "file" ? "features" : "logits";
  const widthOption = option === "file" ? "dim" : option;
  const fail = (option: string, message: string, hint: string) =>
    new OptionError(option, message, { where: file, hint });
  if (file.toLowerCase().endsWith(".npy")) {
    const header = await readNpyHeader(file);
    if (header.dtype !== "float32" && header.dtype !== "float64") {
      throw fail(
        option,
        `precomputed ${what} must be float32 or float64, got ${header.dtype}`,
        `save them with numpy.save(path, ${what}.astype('<f4'))`,
      );
    }
    if (header.shape.length < 2) {
      throw fail(
        option,
        `precomputed ${what} need shape [samples, dims], got [${header.shape}]`,
        `reshape to one row per sample, e.g. ${what}.reshape(len(${what}), -1)`,
      );
    }
    const rowDim = header.shape.slice(1).reduce((a, b) => a * b, 1);
    if (dim !== undefined && dim !== rowDim) {
      throw fail(
        "dim",
        `option dim is ${dim} but the file's rows hold ${rowDim} values`,
        "drop the dim option for .npy files (the shape says it)",
      );
    }
    return { rows: header.shape[0], dim: rowDim };
  }
  if (dim === undefined) {
    throw fail(
      "dim",
      "a raw float32 feature file needs the dim option (values per sample)",
      "add e.g. dim: 512, or save the features as .npy",
    );
  }
  const size = await inputFileSize(file);
  if (size % (4 * dim) !== 0) {
    throw fail(
      widthOption,
      `${size} bytes of precomputed ${what} are not a whole number of float32 rows of ${dim} values`,
      "check dim, and that the file is raw little-endian float32",
    );
  }
  return { rows: size / (4 * dim), dim };
}

/** The file's values as row-major float32 (its layout already checked by {@linkcode layoutOf}). */
async function readRows(file: string): Promise<Float32Array> {
  if (file.toLowerCase().endsWith(".npy")) {
    const array = await readNpy(file);
    return array.data instanceof Float32Array
      ? array.data
      : Float32Array.from(array.data as Float64Array);
  }
  const bytes = await readInputFile(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return values;
}

/**
 * One file's rows for `data`: its layout checked against the dataset (one row per sample) and every
 * value finite. `option` names the option that gave the file, for the error.
 */
async function readTable(
  path: string,
  option: "file" | "logits",
  dim: number | undefined,
  data: Dataset,
  ctx: PluginContext,
): Promise<FeatureTable> {
  const file = resolvePath(ctx, path);
  let layout: { rows: number; dim: number };
  try {
    layout = await layoutOf(file, dim, option);
  } catch (e) {
    throw OptionError.from(option, e);
  }
  const { rows } = layout;
  const what = option === "file" ? "features" : "logits";
  if (rows !== data.size) {
    throw new KtError(
      `precomputed ${what} hold ${rows} rows but dataset ${data.name} has ${data.size} samples`,
      {
        where: path,
        hint: "the file needs one row per sample, in dataset order (check split and limit)",
      },
    );
  }
  const values = await readRows(file);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new KtError(
        `row ${Math.floor(i / layout.dim)} of the precomputed ${what} is not finite`,
        { where: path, hint: "replace NaN/Infinity in the file" },
      );
    }
  }
  return { values, dim: layout.dim, size: rows };
}

export default defineTeacher({
  name: "precomputed",
  description:
    "features (and optionally logits) from .npy or raw float32 files, one row per dataset sample",
  version: "1",
  options: z.object({
    file: filePath().describe(
      "path of the .npy or raw float32 file (relative to the experiment file)",
    ),
    dim: z.number().int().positive().optional().describe("values per sample (raw files)"),
    logits: filePath().optional().describe(
      "the teacher's logits, one row of one value per class for each sample (.npy, or raw float32), " +
        "for the methods that read teacher logits (Hinton, DKD, DIST)",
    ),
  }).strict(),
  // Both files are checked before anything runs, as far as their headers (or sizes) tell: the
  // logits need as many rows as the features (their width, the class count, needs the dataset).
  async describe(options, ctx) {
    let shape: { rows: number; dim: number };
    try {
      shape = await layoutOf(resolvePath(ctx, options.file), options.dim);
    } catch (e) {
      throw OptionError.from("file", e);
    }
    if (options.logits) {
      const file = resolvePath(ctx, options.logits);
      let rows: number | undefined;
      try {
        if (options.logits.toLowerCase().endsWith(".npy")) {
          rows = (await layoutOf(file, undefined, "logits")).rows;
        } else {
          const size = await inputFileSize(file);
          if (shape.rows > 0 && size % (4 * shape.rows) === 0) rows = shape.rows;
        }
      } catch (e) {
        throw OptionError.from("logits", e);
      }
      if (rows !== shape.rows) {
        throw new OptionError(
          "logits",
          rows === undefined
            ? `the raw logits file does not split into ${shape.rows} rows of float32, one per row of the features`
            : `precomputed logits hold ${rows} rows but the features (option file) ${shape.rows}`,
          {
            where: file,
            hint: "save one row of logits per sample, in the order of the features file",
          },
        );
      }
    }
    return { features: { size: shape.rows, dim: shape.dim } };
  },
  async extract(options, data, ctx) {
    const features = await readTable(options.file, "file", options.dim, data, ctx);
    if (!options.logits) return { features };
    // A raw logits file has one value per class in each row.
    const rawDim = options.logits.toLowerCase().endsWith(".npy") ? undefined : data.numClasses;
    const logits = await readTable(options.logits, "logits", rawDim, data, ctx);
    if (logits.dim !== data.numClasses) {
      throw new OptionError(
        "logits",
        `precomputed logits hold ${logits.dim} values per row but dataset ${data.name} has ${data.numClasses} classes`,
        { where: options.logits, hint: "save one logit per class for each sample" },
      );
    }
    return { features, logits };
  },
});
