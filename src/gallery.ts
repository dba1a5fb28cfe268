/**
 * The retrieval gallery of a report (`kt report --gallery`): for a few fixed queries of the test
 * split — the first query of each class, in class order — each method's top-k (10) database
 * images by cosine similarity of its representation, each marked hit (same label) or miss, so a
 * reader sees what an mAP means.
 *
 * Each method is shown by one of its trials (the lowest finished seed). Its model, queries and
 * database are those of the run's retrieval evaluation (a metrics node with `model`, `queries` and
 * `database` options, not a reference); models come from the cache only — nothing is trained
 * here. Images become small PNGs (per-image min–max scaled) embedded once each as data URIs.
 *
 * ```ts ignore
 * import { buildGallery } from "./gallery.ts";
 * const gallery = await buildGallery(loaded, {
 *   cacheDir: ".kt/cache",
 *   methods: [{ method: "method=pkt", trial: "method=pkt seed=0" }],
 * });
 * ```
 * @module
 */
import type { FeatureTable } from "./api.ts";
import { type LoadedExperiment, type Trial, trialConfig } from "./config/mod.ts";
import { canonicalJson, type JsonValue } from "./canonical.ts";
import type { Dataset } from "./data.ts";
import { openCache } from "./cache.ts";
import { materialize, type NodePlan, planTrial } from "./engine/execute.ts";
import { metricsNodes } from "./engine/references.ts";
import { KtError } from "./errors.ts";
import { provenanceContext } from "./provenance.ts";
import { featureSourceInput } from "./steps.ts";

/** A query of the gallery. */
export interface GalleryQuery {
  /** Row of the query split. */
  index: number;
  label: number;
  /** Key of its image in {@linkcode Gallery.images}. */
  image: string;
}

/** One method's top-k for one query. */
export interface GalleryRow {
  /** The method's row label in the comparison table (`method=pkt`). */
  method: string;
  /** Keys of the retrieved images, best first. */
  images: string[];
  labels: number[];
  hits: boolean[];
}

/** What the report draws. */
export interface Gallery {
  /** The metrics node whose model, queries and database were used. */
  node: string;
  k: number;
  queries: GalleryQuery[];
  /** `rows[q]`: one row per method for query `q`, in the order of `methods`. */
  rows: GalleryRow[][];
  /** Methods shown, and the trial each is shown by. */
  methods: { method: string; trial: string }[];
  /** Methods left out, with why. */
  skipped: { method: string; reason: string }[];
  /** Image key → `data:image/png;base64,...`. */
  images: Record<string, string>;
  classNames?: string[];
}

/** Options of {@linkcode buildGallery}. */
export interface GalleryOptions {
  cacheDir: string;
  /**
   * Each method (its comparison-table label), the trial label to show it by and the config the
   * run recorded for that trial: a trial the experiment no longer gives with that config (the
   * file was edited, or the run had overrides) is skipped rather than shown wrongly.
   */
  methods: { method: string; trial: string; config?: JsonValue | null }[];
  /** Queries (default 8). */
  queries?: number;
  /** Retrieved items per query (default 10). */
  k?: number;
  log?: (line: string) => void;
}

/**
 * The first row of each class, in class order, then the second of each, ... until `count`:
 * fixed queries covering the classes.
 *
 * @example
 * ```ts
 * import { galleryQueries } from "./gallery.ts";
 * galleryQueries(new Int32Array([1, 0, 1, 2, 0]), 4); // [1, 0, 3, 4]
 * ```
 */
export function galleryQueries(labels: Int32Array, count: number): number[] {
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => byClass.set(l, [...(byClass.get(l) ?? []), i]));
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  for (let round = 0; out.length < count; round++) {
    const before = out.length;
    for (const c of classes) {
      const rows = byClass.get(c)!;
      if (round < rows.length && out.length < count) out.push(rows[round]);
    }
    if (out.length === before) break;
  }
  return out;
}

/**
 * The `k` rows of `database` most similar to `query` by cosine similarity, best first (ties by
 * row); rows of zero norm come last.
 *
 * @example
 * ```ts
 * import { topK } from "./gallery.ts";
 * const db = { values: new Float32Array([1, 0, 0, 1, 1, 1]), dim: 2, size: 3 };
 * topK(new Float32Array([1, 0.1]), db, 2); // [0, 2]
 * ```
 */
export function topK(query: Float32Array, database: FeatureTable, k: number): number[] {
  const { dim, size, values } = database;
  let qn = 0;
  for (let j = 0; j < dim; j++) qn += query[j] * query[j];
  qn = Math.sqrt(qn) || 1;
  const scores = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let dot = 0, n = 0;
    for (let j = 0; j < dim; j++) {
      const v = values[i * dim + j];
      dot += v * query[j];
      n += v * v;
    }
    scores[i] = n > 0 ? dot / (Math.sqrt(n) * qn) : -Infinity;
  }
  const best: number[] = [];
  for (let i = 0; i < size; i++) {
    if (best.length < k || scores[i] > scores[best[best.length - 1]]) {
      let at = best.length;
      while (at > 0 && scores[i] > scores[best[at - 1]]) at--;
      best.splice(at, 0, i);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * An 8-bit PNG (grey for 1 channel, RGB for 3) of `pixels` (row-major, interleaved channels).
 *
 * @example
 * ```ts
 * import { encodePng } from "./gallery.ts";
 * const png = await encodePng(2, 1, 1, new Uint8Array([0, 255]));
 * png.slice(1, 4); // "PNG" in ASCII
 * ```
 */
export async function encodePng(
  width: number,
  height: number,
  channels: 1 | 3,
  pixels: Uint8Array,
): Promise<Uint8Array> {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, channels === 1 ? 0 : 2, 0, 0, 0], 8);
  // Filter type 0 (none) in front of every row.
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const deflated = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflated),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Image `index` of `data` as a PNG data URI, its values scaled min–max to 0–255. */
export async function imageUri(data: Dataset, index: number): Promise<string> {
  const [h, w, c] = data.shape;
  const size = h * w * c;
  const x = data.x.subarray(index * size, (index + 1) * size);
  let lo = Infinity, hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const pixels = Uint8Array.from(x, (v) => Math.round((v - lo) * scale));
  const png = await encodePng(w, h, c === 1 ? 1 : 3, pixels);
  let binary = "";
  for (const b of png) binary += String.fromCharCode(b);
  return `data:image/png;base64,${btoa(binary)}`;
}

/** Whether a dataset's samples can be drawn as images (grey or RGB, at least 8×8). */
export function isImageData(data: Pick<Dataset, "shape">): boolean {
  const [h, w, c] = data.shape;
  return h >= 8 && w >= 8 && (c === 1 || c === 3);
}

// ---------------------------------------------------------------------------------------------
// Building

/** A dataset holding only `rows` of `data`. */
function subset(data: Dataset, rows: number[]): Dataset {
  const size = data.shape[0] * data.shape[1] * data.shape[2];
  const x = new Float32Array(rows.length * size);
  rows.forEach((r, i) => x.set(data.x.subarray(r * size, (r + 1) * size), i * size));
  return {
    ...data,
    x,
    y: Int32Array.from(rows, (r) => data.y[r]),
    size: rows.length,
    augment: undefined,
  };
}

/** The retrieval evaluation of a trial: a metrics node (not a reference) with model/queries/database. */
function retrievalNode(trial: Trial, plans: Map<string, NodePlan>) {
  const nodes = metricsNodes([trial], new Map([[trial.id, plans]])).get(trial.id) ?? [];
  for (const m of nodes) {
    if (m.reference !== undefined) continue;
    const node = trial.graph.nodes[m.node];
    const ref = (option: string) => node.refs.find((r) => r.option === option)?.node;
    const [model, queries, database] = [ref("model"), ref("queries"), ref("database")];
    if (model && queries && database) {
      const layer = typeof node.options.layer === "string" ? node.options.layer : "representation";
      return { name: m.node, model, queries, database, layer };
    }
  }
  return undefined;
}

/**
 * The gallery of the methods' trials (see the module doc); `undefined` when the data are not
 * images or no method could be shown (each skip is in the result's `skipped` otherwise).
 */
export async function buildGallery(
  loaded: LoadedExperiment,
  options: GalleryOptions,
): Promise<Gallery | undefined> {
  const k = options.k ?? 10;
  const count = options.queries ?? 8;
  const cache = await openCache(options.cacheDir, { onCorrupt: () => {} });
  const ctx = await provenanceContext(loaded.experiment, loaded.trials, options.cacheDir);
  const memo = new Map<string, Promise<unknown>>();
  const rt = {
    cache,
    registry: loaded.experiment.registry,
    cacheDir: `${options.cacheDir}/datasets`,
    baseDir: loaded.experiment.dir,
    log: options.log ?? (() => {}),
  };
  const images: Record<string, string> = {};
  const image = async (key: string, data: Dataset, index: number) => {
    const id = `${key.slice(0, 8)}-${index}`;
    images[id] ??= await imageUri(data, index);
    return id;
  };
  const skipped: Gallery["skipped"] = [];
  const shown: Gallery["methods"] = [];
  let queries: GalleryQuery[] | undefined;
  let node = "";
  let classNames: string[] | undefined;
  const rows: GalleryRow[][] = [];
  for (const m of options.methods) {
    const trial = loaded.trials.find((t) => t.label === m.trial);
    if (!trial) {
      skipped.push({
        method: m.method,
        reason: `trial "${m.trial}" is not in the experiment file`,
      });
      continue;
    }
    if (m.config != null && canonicalJson(trialConfig(trial)) !== canonicalJson(m.config)) {
      skipped.push({
        method: m.method,
        reason: `the experiment gives trial "${m.trial}" another config than the run's (the ` +
          "file was edited, or the sweep had overrides: give them to kt report too)",
      });
      continue;
    }
    // Only read from the cache: never train here.
    const plans = new Map(
      [...planTrial(trial, ctx)].map(([name, p]) => [
        name,
        p.node.kind === "step" ? { ...p, fromCache: true } : p,
      ]),
    );
    const found = retrievalNode(trial, plans);
    if (!found) {
      skipped.push({ method: m.method, reason: "no retrieval evaluation of the method" });
      continue;
    }
    try {
      const q = await materialize(trial, plans, found.queries, rt, memo) as Dataset;
      const db = await materialize(trial, plans, found.database, rt, memo) as Dataset;
      if (!isImageData(q) || !isImageData(db)) {
        return undefined;
      }
      const source = featureSourceInput(
        { model: await materialize(trial, plans, found.model, rt, memo) },
        "model",
      );
      const qKey = plans.get(found.queries)!.key;
      const dbKey = plans.get(found.database)!.key;
      const chosen = galleryQueries(q.y, count);
      if (!queries) {
        node = found.name;
        classNames = q.classNames;
        queries = [];
        for (const i of chosen) {
          queries.push({ index: i, label: q.y[i], image: await image(qKey, q, i) });
        }
      }
      const qf = (await source.extract(subset(q, chosen), found.layer, false)).features;
      const dbf =
        (await source.extract({ ...db, augment: undefined }, found.layer, false)).features;
      for (const [qi, i] of chosen.entries()) {
        const top = topK(qf.values.subarray(qi * qf.dim, (qi + 1) * qf.dim), dbf, k);
        const labels = top.map((j) => db.y[j]);
        const row: GalleryRow = {
          method: m.method,
          images: await Promise.all(top.map((j) => image(dbKey, db, j))),
          labels,
          hits: labels.map((l) => l === q.y[i]),
        };
        (rows[qi] ??= []).push(row);
      }
      shown.push({ method: m.method, trial: m.trial });
    } catch (err) {
      if (!(err instanceof KtError)) throw err;
      skipped.push({ method: m.method, reason: err.message });
    }
  }
  if (!queries || shown.length === 0) {
    if (skipped.length > 0) {
      throw new KtError(`no method could be shown in the gallery: ${skipped[0].reason}`, {
        hint: "the gallery reads the run's trained students from the cache: run the sweep " +
          "first, with the same file and overrides, or give the --cache-dir it used",
      });
    }
    return undefined;
  }
  return { node, k, queries, rows, methods: shown, skipped, images, classNames };
}
