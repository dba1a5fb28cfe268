/**
 * CIFAR-10 (32×32×3, 10 classes, 50,000 train / 10,000 test) from the official binary tarball,
 * downloaded once into the cache with checksum verification (default md5
 * `c32a1d4ab5d03f1284b67883e8d87530`) and unpacked there; later loads need no network.
 *
 * Each record of `data_batch_1..5.bin` / `test_batch.bin` is 1 label byte and 3,072 pixel bytes
 * as three 32×32 planes (R, G, B), converted here to HWC. The train split carries the standard
 * augmentation (random crop after padding 4, horizontal flip) for the trainer to apply.
 *
 * ```yaml
 * nodes:
 *   train: { use: cifar10, split: train, normalization: standard }
 *   test:  { use: cifar10, split: test, normalization: standard }
 * ```
 * @module
 */
import {
  cachedDownload,
  type Checksums,
  defineDataset,
  exists,
  gunzip,
  KtError,
  type PluginContext,
  readInputFile,
  readTar,
  removeQuietly,
  tempPathFor,
  z,
} from "../../mod.ts";
import {
  checkSplit,
  commonOptions,
  describeSplit,
  sharedTask,
  type Split,
  toDataset,
} from "./_common.ts";

/** The official tarball and its md5. */
export const CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/** md5 of {@linkcode CIFAR10_URL}. */
export const CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";

const CLASS_NAMES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];
const BATCHES: Record<Split, string[]> = {
  train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  test: ["test_batch.bin"],
};
const ALL_BATCHES = [...BATCHES.train, ...BATCHES.test];
const PLANE = 32 * 32;
const RECORD = 1 + 3 * PLANE;

const hex = (n: number) =>
  z.string().regex(new RegExp(`^[0-9a-fA-F]{${n}}$`), `expected ${n} hex digits`);

/**
 * Converts CIFAR binary records (label byte + R, G, B planes) to HWC pixels and labels.
 * Throws a {@linkcode KtError} naming `source` when the length is not a whole number of records
 * or a label is not 0..9.
 */
export function decodeCifarRecords(
  bytes: Uint8Array,
  source: string,
): { pixels: Uint8Array; labels: Int32Array } {
  const hint =
    "the unpacked file is damaged; delete the cifar10 folder in the cache so it is unpacked again";
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new KtError(
      `${bytes.length} bytes is not a whole number of ${RECORD}-byte CIFAR records`,
      {
        where: source,
        hint,
      },
    );
  }
  const n = bytes.length / RECORD;
  const pixels = new Uint8Array(n * 3 * PLANE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = i * RECORD;
    labels[i] = bytes[r];
    if (labels[i] > 9) {
      throw new KtError(`record ${i} has label ${labels[i]}`, { where: source, hint });
    }
    const o = i * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[o + 3 * p] = bytes[r + 1 + p];
      pixels[o + 3 * p + 1] = bytes[r + 1 + PLANE + p];
      pixels[o + 3 * p + 2] = bytes[r + 1 + 2 * PLANE + p];
    }
  }
  return { pixels, labels };
}

/** Downloads (if needed) and unpacks the batch files; returns the folder holding them. */
async function ensureBatches(
  url: string,
  checksums: Checksums,
  root: string,
  ctx: PluginContext,
): Promise<string> {
  const key = (checksums.sha256 ?? checksums.md5 ?? "").toLowerCase().slice(0, 16);
  const unpacked = `${root}/cifar10/${key}`;
  const present = await Promise.all(ALL_BATCHES.map((f) => exists(`${unpacked}/${f}`)));
  if (present.every(Boolean)) return unpacked;
  const name = decodeURIComponent(
    new URL(url).pathname.split("/").pop() || "cifar-10-binary.tar.gz",
  );
  const archive = await cachedDownload(url, `${root}/cifar10/${key}-${name}`, checksums, {
    log: ctx.log,
  });
  ctx.log(`cifar10: unpacking ${archive}`);
  const tmp = tempPathFor(unpacked);
  try {
    await Deno.mkdir(tmp, { recursive: true });
    const found = new Set<string>();
    const file = await Deno.open(archive, { read: true });
    const entries = readTar(gunzip(file.readable), {
      source: archive,
      want: (n) => ALL_BATCHES.includes(n.split("/").pop()!),
    });
    for await (const entry of entries) {
      const base = entry.name.split("/").pop()!;
      await Deno.writeFile(`${tmp}/${base}`, entry.data);
      found.add(base);
    }
    const missing = ALL_BATCHES.filter((f) => !found.has(f));
    if (missing.length > 0) {
      throw new KtError(`archive lacks ${missing.join(", ")}`, {
        where: archive,
        hint: "the url does not serve the CIFAR-10 binary version; use the default url",
      });
    }
    try {
      await Deno.rename(tmp, unpacked);
    } catch {
      // Another process unpacked it first (a non-empty folder cannot be renamed over); keep
      // theirs when complete, else replace it.
      const theirs = await Promise.all(ALL_BATCHES.map((f) => exists(`${unpacked}/${f}`)));
      if (!theirs.every(Boolean)) {
        await removeQuietly(unpacked);
        await Deno.rename(tmp, unpacked);
      } else await removeQuietly(tmp);
    }
  } catch (e) {
    await removeQuietly(tmp);
    if (e instanceof KtError) throw e;
    throw new KtError(`cannot unpack ${archive}: ${(e as Error).message}`, {
      hint: `the archive is damaged; delete ${archive} so it is downloaded again`,
      cause: e,
    });
  }
  return unpacked;
}

/** The `cifar10` dataset plugin (official binary tarball, downloaded once and cached). */
export default defineDataset({
  name: "cifar10",
  description:
    "CIFAR-10 32×32×3, 10 classes, official 50k/10k split (downloaded once, md5-checked, cached)",
  version: "1",
  options: z.object({
    ...commonOptions,
    /** Where to download from (a mirror or a local server). */
    url: z.url().default(CIFAR10_URL),
    /** Expected md5 of the tarball; the official one unless `sha256` is given. */
    md5: hex(32).optional(),
    /** Expected sha256 of the tarball. */
    sha256: hex(64).optional(),
    /** Download/unpack folder; the engine's cache folder by default. */
    cacheDir: z.string().optional(),
    /** Random crop (padding 4) + horizontal flip during training; default on for train only. */
    augment: z.boolean().optional(),
  }).strict(),
  describe: (opts) =>
    Promise.resolve(
      describeSplit(opts, {
        name: "cifar10",
        shape: [32, 32, 3],
        sizes: { train: 50_000, test: 10_000 },
        numClasses: 10,
      }),
    ),
  async load(opts, ctx) {
    const split = checkSplit(opts.split, "cifar10");
    const checksums: Checksums = opts.md5 === undefined && opts.sha256 === undefined
      ? { md5: CIFAR10_MD5 }
      : { md5: opts.md5, sha256: opts.sha256 };
    const root = opts.cacheDir ?? ctx.cacheDir;
    const dir = await sharedTask(
      `cifar10:${root}:${opts.url}:${checksums.md5}:${checksums.sha256}`,
      () => ensureBatches(opts.url, checksums, root, ctx),
    );
    const parts = await Promise.all(BATCHES[split].map(async (f) => {
      const path = `${dir}/${f}`;
      return decodeCifarRecords(await readInputFile(path), path);
    }));
    const n = parts.reduce((a, p) => a + p.labels.length, 0);
    const pixels = new Uint8Array(n * 3 * PLANE);
    const labels = new Int32Array(n);
    let at = 0;
    for (const p of parts) {
      pixels.set(p.pixels, at * 3 * PLANE);
      labels.set(p.labels, at);
      at += p.labels.length;
    }
    const ds = toDataset({
      name: `cifar10/${split}`,
      pixels: { bytes: pixels },
      labels,
      shape: [32, 32, 3],
      numClasses: 10,
      classNames: CLASS_NAMES,
      source: dir,
    }, opts);
    if (opts.augment ?? split === "train") ds.augment = { cropPadding: 4, horizontalFlip: true };
    return ds;
  },
});
