/**
 * Writes `experiments/data/mnist_caption_features.npy`: a stand-in for text embeddings of image
 * captions, aligned row by row with `{ use: mnist, split: train, limit: 5000 }` (the data of
 * experiments/precomputed_teacher.yaml). Each row embeds a caption such as "a thick, slanted
 * seven": a fixed random word vector for the digit's name, plus word vectors for stroke
 * thickness and slant measured from the image, plus a little noise — so, like real captions, the
 * features carry the label and some appearance, in another "modality" than pixels.
 *
 *   deno run --allow-read --allow-write experiments/make_caption_features.ts [--limit 5000] [--out path]
 * @module
 */
import { parseArgs } from "node:util";
import mnist from "../plugins/datasets/mnist.ts";
import { writeNpy } from "../src/io/npy.ts";
import { createRng } from "../src/rng.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    limit: { type: "string", default: "5000" },
    out: {
      type: "string",
      default: new URL("data/mnist_caption_features.npy", import.meta.url).pathname,
    },
    dim: { type: "string", default: "48" },
  },
});
const dim = Number(args.dim);
const data = await mnist.load(mnist.options.parse({ split: "train", limit: Number(args.limit) }), {
  cacheDir: ".kt/cache/datasets",
  seed: 0,
  log: console.error,
});
const rng = createRng(2018);
const word = () => Float32Array.from({ length: dim }, () => rng.normal() / Math.sqrt(dim));
const digitWords = Array.from({ length: data.numClasses }, word);
const thick = word();
const slanted = word();
const [h, w] = data.shape;
const out = new Float32Array(data.size * dim);
for (let i = 0; i < data.size; i++) {
  const img = data.x.subarray(i * h * w, (i + 1) * h * w);
  let ink = 0;
  let mx = 0;
  let my = 0;
  let mxy = 0;
  let myy = 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const v = img[r * w + c];
      ink += v;
      mx += v * c;
      my += v * r;
      mxy += v * c * r;
      myy += v * r * r;
    }
  }
  const cx = mx / ink;
  const cy = my / ink;
  const slant = (mxy / ink - cx * cy) / Math.max(myy / ink - cy * cy, 1e-6);
  const thickness = ink / (h * w) / 0.13 - 1; // ~0 for an average digit
  const row = out.subarray(i * dim, (i + 1) * dim);
  const digit = digitWords[data.y[i]];
  for (let k = 0; k < dim; k++) {
    row[k] = digit[k] + 0.3 * thickness * thick[k] + 0.3 * slant * slanted[k] + 0.05 * rng.normal();
  }
}
await Deno.mkdir(new URL(".", `file://${args.out}`).pathname, { recursive: true });
await writeNpy(args.out, out, [data.size, dim]);
console.log(`wrote ${args.out}: ${data.size} × ${dim} float32 caption features`);
