/**
 * `precomputed` teacher: features read from a file, one row per sample of the dataset in the
 * same order (e.g. text embeddings of each image's caption, for cross-modal transfer).
 *
 * - `.npy`: float32 or float64, shape `[samples, ...]` (trailing axes are flattened).
 * - anything else: raw little-endian float32, row-major; `dim` (values per sample) is required.
 *
 * Relative paths start at the working directory.
 * @module
 */
import { defineTeacher, KtError, resolvePath, z } from "../../src/api.ts";
import { filePath } from "../../src/api.ts";
import { readNpy } from "../../src/io/npy.ts";
import { readInputFile } from "../../src/io/_files.ts";

/** Reads the file as row-major float32 rows: `{ values, dim }`. */
async function readRows(file: string, dim: number | undefined) {
  if (file.toLowerCase().endsWith(".npy")) {
    const array = await readNpy(file);
    if (array.dtype !== "float32" && array.dtype !== "float64") {
      throw new KtError(`precomputed features must be float32 or float64, got ${array.dtype}`, {
        where: file,
        hint: "save them with numpy.save(path, features.astype('<f4'))",
      });
    }
    if (array.shape.length < 2) {
      throw new KtError(`precomputed features need shape [samples, dims], got [${array.shape}]`, {
        where: file,
        hint: "reshape to one row per sample, e.g. features.reshape(len(features), -1)",
      });
    }
    const rowDim = array.shape.slice(1).reduce((a, b) => a * b, 1);
    if (dim !== undefined && dim !== rowDim) {
      throw new KtError(`option dim is ${dim} but the file's rows hold ${rowDim} values`, {
        where: file,
        hint: "drop the dim option for .npy files (the shape says it)",
      });
    }
    const values = array.data instanceof Float32Array
      ? array.data
      : Float32Array.from(array.data as Float64Array);
    return { values, dim: rowDim };
  }
  if (dim === undefined) {
    throw new KtError("a raw float32 feature file needs the dim option (values per sample)", {
      where: file,
      hint: "add e.g. dim: 512, or save the features as .npy",
    });
  }
  const bytes = await readInputFile(file);
  if (bytes.length % (4 * dim) !== 0) {
    throw new KtError(
      `${bytes.length} bytes are not a whole number of float32 rows of ${dim} values`,
      { where: file, hint: "check dim, and that the file is raw little-endian float32" },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(4 * i, true);
  return { values, dim };
}

export default defineTeacher({
  name: "precomputed",
  description: "features from a .npy or raw float32 file, one row per dataset sample",
  version: "1",
  options: z.object({
    file: filePath().describe(
      "path of the .npy or raw float32 file (relative to the experiment file)",
    ),
    dim: z.number().int().positive().optional().describe("values per sample (raw files)"),
  }).strict(),
  async extract(options, data, ctx) {
    const { values, dim } = await readRows(resolvePath(ctx, options.file), options.dim);
    const rows = values.length / dim;
    if (rows !== data.size) {
      throw new KtError(
        `precomputed features hold ${rows} rows but dataset ${data.name} has ${data.size} samples`,
        {
          where: options.file,
          hint: "the file needs one row per sample, in dataset order (check split and limit)",
        },
      );
    }
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new KtError(`row ${Math.floor(i / dim)} of the precomputed features is not finite`, {
          where: options.file,
          hint: "replace NaN/Infinity in the file",
        });
      }
    }
    return { features: { values, dim, size: rows } };
  },
});
