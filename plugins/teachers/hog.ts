/**
 * `hog` teacher: Dalal–Triggs histograms of oriented gradients of each image (the paper's
 * handcrafted teacher). No training; features depend only on the options and the pixels.
 * @module
 */
import { defineTeacher, hogFeatures, hogLayout, z } from "../../mod.ts";

/** Images described per chunk (bounds the temporary memory and paces the progress lines). */
const CHUNK = 4096;

export default defineTeacher({
  name: "hog",
  description: "histograms of oriented gradients (cells, L2-Hys normalised blocks)",
  version: "1",
  options: z.object({
    cellSize: z.number().int().positive().optional()
      .describe("cell side in pixels (default: a quarter of the shorter image side)"),
    blockSize: z.number().int().positive().default(2).describe("block side in cells"),
    bins: z.number().int().positive().default(9).describe("orientation bins"),
    signed: z.boolean().default(false).describe("orientations over 360° instead of 180°"),
  }).strict(),
  extract(options, data, ctx) {
    const { dim } = hogLayout(data.shape, options);
    const size = data.shape[0] * data.shape[1] * data.shape[2];
    const values = new Float32Array(data.size * dim);
    for (let start = 0; start < data.size; start += CHUNK) {
      const end = Math.min(data.size, start + CHUNK);
      const chunk = hogFeatures(data.x.subarray(start * size, end * size), data.shape, options);
      values.set(chunk.values, start * dim);
      if (data.size > CHUNK) ctx.log(`hog: ${end}/${data.size} images of ${data.name}`);
    }
    return Promise.resolve({ features: { values, dim, size: data.size } });
  },
});
