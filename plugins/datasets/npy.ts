/**
 * User data from NumPy `.npy` files: an images array (N,H,W,C), (N,H,W) or (N,D) and a labels
 * array (N) of integers. dtypes `uint8`, `int32`, `int64`, `float32`, `float64`, little-endian,
 * C order. Integer images are raw pixels 0..255 (scaled by 1/255 under the default "unit"
 * normalization); float images are used as they are. `split` only names the dataset: point
 * `images`/`labels` at the files of the split you want.
 *
 * ```yaml
 * nodes:
 *   train: { use: npy, images: data/x_train.npy, labels: data/y_train.npy, split: train }
 * ```
 * @module
 */
import { readNpy, readNpyHeader } from "../../mod.ts";
import { defineUserFileDataset } from "./_common.ts";

/** The `npy` dataset plugin (user `.npy` images + labels). */
export default defineUserFileDataset({
  name: "npy",
  description: "your own data from .npy files: images (N,H,W,C)/(N,H,W)/(N,D) + integer labels (N)",
  async read(path) {
    const a = await readNpy(path);
    const integer = a.dtype !== "float32" && a.dtype !== "float64";
    return { dims: a.shape, data: a.data, integer, source: path };
  },
  dims: async (path) => (await readNpyHeader(path)).shape,
});
