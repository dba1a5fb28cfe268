/**
 * User data from IDX files (the MNIST format): an images file with dims (N,H,W,C), (N,H,W) or
 * (N,D) and a labels file (N). Integer images are raw pixels 0..255 (scaled by 1/255 under the
 * default "unit" normalization); float images are used as they are. `split` only names the
 * dataset: point `images`/`labels` at the files of the split you want.
 *
 * ```yaml
 * nodes:
 *   train: { use: idx, images: data/train-images-idx3-ubyte, labels: data/train-labels-idx1-ubyte }
 * ```
 * @module
 */
import { readIdx, readIdxHeader } from "../../mod.ts";
import { defineUserFileDataset } from "./_common.ts";

/** The `idx` dataset plugin (user IDX images + labels). */
export default defineUserFileDataset({
  name: "idx",
  description:
    "your own data from IDX files (MNIST format): images (N,H,W[,C]) or (N,D) + labels (N)",
  async read(path) {
    const f = await readIdx(path);
    const integer = f.type !== "float32" && f.type !== "float64";
    return { dims: f.dims, data: f.data, integer, source: path };
  },
  dims: async (path) => (await readIdxHeader(path)).dims,
});
