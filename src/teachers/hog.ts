/**
 * Histograms of oriented gradients (Dalal & Triggs), the paper's handcrafted teacher.
 *
 * 1. Gradients with the centred kernel [-1, 0, 1]: gx = I(y, x+1) − I(y, x−1) along columns,
 *    gy = I(y+1, x) − I(y−1, x) along rows (y grows downwards). On the image border the component
 *    across the border is 0 (as scikit-image does): gx = 0 in the first and last column, gy = 0 in
 *    the first and last row.
 * 2. Colour: per pixel, the channel with the largest gradient magnitude (the lowest on ties).
 * 3. Orientation θ = atan2(gy, gx), folded into [0°, 180°) (unsigned, default) or [0°, 360°)
 *    (signed). `bins` equal bins; a pixel votes its magnitude into the two bins whose centres
 *    ((b + ½)·width) surround θ, linearly by distance, wrapping around (θ = 0° splits evenly
 *    between the last and the first bin). A vertical edge has θ = 0°, a horizontal one 90°.
 * 4. Cells of cellSize×cellSize pixels from the top-left; pixels past the last whole cell are
 *    ignored. Each pixel votes only into its own cell (no spatial interpolation).
 * 5. Blocks of blockSize×blockSize cells, stride one cell, each L2-Hys normalised:
 *    v ← v / √(‖v‖² + ε²), clip at 0.2, v ← v / √(‖v‖² + ε²), with ε = 1e-5 (a flat block stays 0).
 *
 * Output per image: blocks in row-major order (block row, block column), within a block its
 * cells row-major, within a cell its bins.
 * @module
 */
import { KtError } from "../errors.ts";

/** Options of {@linkcode hogFeatures}. */
export interface HogOptions {
  /** Cell side in pixels (default: a quarter of the shorter image side, 7 for 28×28). */
  cellSize?: number;
  /** Block side in cells (default 2). */
  blockSize?: number;
  /** Orientation bins (default 9). */
  bins?: number;
  /** Signed orientations over 360° instead of unsigned over 180° (default false). */
  signed?: boolean;
}

/** Resolved HoG geometry for an image shape. */
export interface HogLayout {
  /** Pixels per cell side. */
  cellSize: number;
  /** Cells per block side. */
  blockSize: number;
  /** Orientation bins per cell. */
  bins: number;
  /** Orientations over 360° (signed) rather than 180°. */
  signed: boolean;
  /** Cells down the image. */
  cellsY: number;
  /** Cells across the image. */
  cellsX: number;
  /** Blocks down the image. */
  blocksY: number;
  /** Blocks across the image. */
  blocksX: number;
  /** Feature length per image. */
  dim: number;
}

/** ε of the L2-Hys normalisation. */
export const HOG_EPSILON = 1e-5;
const CLIP = 0.2;

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new KtError(`HoG ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The HoG geometry (cells, blocks, feature length) for images of `shape` = [h, w, c].
 *
 * @example
 * ```ts
 * import { hogLayout } from "./hog.ts";
 * console.log(hogLayout([28, 28, 1]).dim); // 324 = 3×3 blocks × 2×2 cells × 9 bins
 * ```
 */
export function hogLayout(shape: [number, number, number], options: HogOptions = {}): HogLayout {
  const [h, w, c] = shape;
  for (
    const [v, name] of [[h, "image height"], [w, "image width"], [c, "channel count"]] as const
  ) {
    positiveInteger(v, name);
  }
  const cellSize = positiveInteger(
    options.cellSize ?? Math.max(1, Math.floor(Math.min(h, w) / 4)),
    "cellSize",
  );
  const blockSize = positiveInteger(options.blockSize ?? 2, "blockSize");
  const bins = positiveInteger(options.bins ?? 9, "bins");
  const cellsY = Math.floor(h / cellSize), cellsX = Math.floor(w / cellSize);
  if (cellsY < blockSize || cellsX < blockSize) {
    throw new KtError(
      `HoG: ${h}×${w} images hold ${cellsY}×${cellsX} cells of ${cellSize} px, fewer than one ` +
        `block of ${blockSize}×${blockSize} cells`,
      {
        hint: `use a smaller cellSize (at most ${
          Math.floor(Math.min(h, w) / blockSize)
        }) or blockSize`,
      },
    );
  }
  const blocksY = cellsY - blockSize + 1, blocksX = cellsX - blockSize + 1;
  return {
    cellSize,
    blockSize,
    bins,
    signed: options.signed ?? false,
    cellsY,
    cellsX,
    blocksY,
    blocksX,
    dim: blocksY * blocksX * blockSize * blockSize * bins,
  };
}

/**
 * Orientation histograms of the cells of one image (`h·w·c` values, HWC order) before block
 * normalisation: `cellsY × cellsX × bins`, row-major. Writes into `out` when given.
 *
 * @example
 * ```ts
 * import { hogCellHistograms, hogLayout } from "./hog.ts";
 * const image = new Float32Array(64).map((_, i) => (i % 8 >= 4 ? 1 : 0)); // vertical edge
 * const cells = hogCellHistograms(image, [8, 8, 1], hogLayout([8, 8, 1], { cellSize: 4 }));
 * console.log(cells[0], cells[8]); // 2 2: θ = 0° splits between the first and last bin
 * ```
 */
export function hogCellHistograms(
  image: Float32Array,
  shape: [number, number, number],
  layout: HogLayout,
  out: Float32Array = new Float32Array(layout.cellsY * layout.cellsX * layout.bins),
): Float32Array {
  const [h, w, c] = shape;
  const { cellSize, bins, cellsX } = layout;
  const range = layout.signed ? 360 : 180;
  const binWidth = range / bins;
  const toDegrees = 180 / Math.PI;
  out.fill(0);
  const usedH = layout.cellsY * cellSize, usedW = cellsX * cellSize;
  for (let y = 0; y < usedH; y++) {
    const cellRow = Math.floor(y / cellSize) * cellsX;
    for (let x = 0; x < usedW; x++) {
      let gx = 0, gy = 0, best = -1;
      for (let ch = 0; ch < c; ch++) {
        const dx = x > 0 && x < w - 1
          ? image[(y * w + x + 1) * c + ch] - image[(y * w + x - 1) * c + ch]
          : 0;
        const dy = y > 0 && y < h - 1
          ? image[((y + 1) * w + x) * c + ch] - image[((y - 1) * w + x) * c + ch]
          : 0;
        const m2 = dx * dx + dy * dy;
        if (m2 > best) {
          best = m2;
          gx = dx;
          gy = dy;
        }
      }
      if (best <= 0) continue;
      const magnitude = Math.sqrt(best);
      let theta = Math.atan2(gy, gx) * toDegrees;
      if (theta < 0) theta += 360;
      if (theta >= range) theta -= range; // unsigned: fold [180°, 360°) onto [0°, 180°)
      const position = theta / binWidth - 0.5; // in units of bins, relative to bin centres
      const lower = Math.floor(position);
      const frac = position - lower;
      const base = (cellRow + Math.floor(x / cellSize)) * bins;
      out[base + ((lower + bins) % bins)] += magnitude * (1 - frac);
      out[base + ((lower + 1) % bins)] += magnitude * frac;
    }
  }
  return out;
}

/** L2-Hys normalisation of `v` in place. */
function l2Hys(v: Float32Array): void {
  const normalise = () => {
    let sq = 0;
    for (let k = 0; k < v.length; k++) sq += v[k] * v[k];
    const inv = 1 / Math.sqrt(sq + HOG_EPSILON * HOG_EPSILON);
    for (let k = 0; k < v.length; k++) v[k] *= inv;
  };
  normalise();
  for (let k = 0; k < v.length; k++) if (v[k] > CLIP) v[k] = CLIP;
  normalise();
}

/**
 * HoG descriptors of every image in `images` (`n × h × w × c`, NHWC) — see the module notes for
 * the exact definition. Returns row-major features, `dim` per image.
 *
 * @example
 * ```ts
 * import { hogFeatures } from "./hog.ts";
 * const images = new Float32Array(2 * 28 * 28).map(Math.random);
 * const { values, dim } = hogFeatures(images, [28, 28, 1]);
 * console.log(values.length === 2 * dim, dim); // true 324
 * ```
 */
export function hogFeatures(
  images: Float32Array,
  shape: [number, number, number],
  options: HogOptions = {},
): { values: Float32Array; dim: number } {
  const layout = hogLayout(shape, options);
  const size = shape[0] * shape[1] * shape[2];
  if (images.length % size !== 0) {
    throw new KtError(
      `HoG: ${images.length} values are not a whole number of ${shape.join("×")} images`,
      { hint: "give NHWC images and their [height, width, channels]" },
    );
  }
  const n = images.length / size;
  const { bins, blockSize, cellsX, blocksY, blocksX, dim } = layout;
  const values = new Float32Array(n * dim);
  const cells = new Float32Array(layout.cellsY * cellsX * bins);
  const blockLength = blockSize * blockSize * bins;
  const block = new Float32Array(blockLength);
  for (let i = 0; i < n; i++) {
    hogCellHistograms(images.subarray(i * size, (i + 1) * size), shape, layout, cells);
    let at = i * dim;
    for (let by = 0; by < blocksY; by++) {
      for (let bx = 0; bx < blocksX; bx++) {
        let k = 0;
        for (let cy = by; cy < by + blockSize; cy++) {
          for (let cx = bx; cx < bx + blockSize; cx++) {
            block.set(cells.subarray((cy * cellsX + cx) * bins, (cy * cellsX + cx + 1) * bins), k);
            k += bins;
          }
        }
        l2Hys(block);
        values.set(block, at);
        at += blockLength;
      }
    }
  }
  return { values, dim };
}
