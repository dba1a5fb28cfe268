/**
 * Content-addressed cache of node outputs.
 *
 * A node's output (an *artifact*) is a directory of named files stored under the hash of what
 * produced it ({@linkcode cacheKey}): `<cacheDir>/<key[0:2]>/<key>/`. Beside the files lies
 * `manifest.json` with each file's size and sha-256, the key, the plugin and the creation time.
 *
 * Writes are atomic: files go to `<cacheDir>/tmp/<random>/`, are fsynced, the manifest is written
 * last, and the whole directory is renamed into place (atomic on one filesystem). A crash mid-write
 * leaves only a tmp directory, which reads never look at and {@linkcode Cache.gc} removes. When two
 * writers race on one key the rename loser discards its copy and returns the winner's artifact.
 *
 * Reads verify every file's size and checksum (sha-256 of a 15 MB feature file takes ~15 ms here);
 * a corrupt artifact is reported, removed, and returned as `{ status: "corrupt" }` so the caller
 * recomputes it.
 *
 * ```ts
 * import { cacheKey, openCache } from "./cache.ts";
 * const dir = await Deno.makeTempDir();
 * const cache = await openCache(dir);
 * const key = cacheKey({ plugin: "features", version: "1", options: { layer: "fc" }, inputs: {} });
 * await cache.put(key, { "out.txt": new TextEncoder().encode("hi") }, { plugin: "features" });
 * const hit = await cache.get(key);
 * new TextDecoder().decode(await hit!.readFile("out.txt")); // "hi"
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { FeatureTable } from "./api.ts";
import { canonicalJson, type JsonValue } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import type { Provenance } from "./provenance.ts";

// ---------------------------------------------------------------- keys

/** What identifies a node's output. */
export interface CacheKeyParts {
  /** Plugin name (`use:`). */
  plugin: string;
  /** Plugin version; bump it when outputs change for the same options. */
  version?: string;
  /** Resolved, validated options of the node. */
  options: unknown;
  /** Cache keys of the node's inputs, by input name (or in input order). */
  inputs: Record<string, string> | string[];
  /** What else decided the output: code and file hashes, kt's numerics version (no paths). */
  provenance?: JsonValue;
}

/**
 * The cache key of a node: hex sha-256 of the canonical JSON ({@linkcode canonicalJson}) of
 * `{ plugin, version, options, inputs }` (and `provenance` when given). Object key order never
 * matters; array order does.
 *
 * @example
 * ```ts
 * import { cacheKey } from "./cache.ts";
 * const a = cacheKey({ plugin: "pkt", options: { x: 1, y: 2 }, inputs: {} });
 * const b = cacheKey({ plugin: "pkt", options: { y: 2, x: 1 }, inputs: {} });
 * a === b; // true
 * ```
 */
export function cacheKey(parts: CacheKeyParts): string {
  return sha256Hex(canonicalJson({
    plugin: parts.plugin,
    version: parts.version ?? null,
    options: parts.options ?? null,
    inputs: parts.inputs,
    ...(parts.provenance === undefined ? {} : { provenance: parts.provenance }),
  }));
}

// ---------------------------------------------------------------- types

/** What can be stored as one file: raw bytes, or a feature table (raw float32, shape in manifest). */
export type FileData = Uint8Array | FeatureTable;

/** One file as the manifest records it. */
export interface ManifestFile {
  size: number;
  sha256: string;
  /** Set for feature tables: little-endian float32, `shape = [size, dim]`. */
  dtype?: "float32";
  shape?: [number, number];
}

/** The `manifest.json` of an artifact. An artifact without a valid manifest is never trusted. */
export interface Manifest {
  format: 1;
  key: string;
  plugin: string;
  version: string | null;
  /** ISO time of the write. */
  created: string;
  files: Record<string, ManifestFile>;
  /** Free-form JSON the writer attached (e.g. epochs trained, final loss). */
  info: Record<string, JsonValue>;
  /** The code, input files and numerics version it was computed from, with paths. */
  provenance?: Provenance;
}

/** Who wrote an artifact, and anything else worth keeping beside it. */
export interface PutMeta {
  plugin: string;
  version?: string;
  info?: Record<string, JsonValue>;
  provenance?: Provenance;
}

/**
 * A verified artifact. Its files were read and checked when it was looked up, so the readers
 * below do no further I/O. Arrays returned share memory with the artifact: do not mutate them.
 */
export interface Artifact {
  key: string;
  /** Directory of the artifact (it may be removed later by `gc`). */
  dir: string;
  manifest: Manifest;
  /** Absolute path of one file. */
  path(name: string): string;
  /** Bytes of one file. */
  readFile(name: string): Promise<Uint8Array>;
  /** One file as float32 values. */
  readFloat32(name: string): Promise<Float32Array>;
  /** One file parsed as JSON. */
  readJson(name: string): Promise<unknown>;
  /** A file stored from a {@linkcode FeatureTable}, with its shape from the manifest. */
  readFeatureTable(name: string): Promise<FeatureTable>;
}

/** Outcome of {@linkcode Cache.lookup}. */
export type Lookup =
  | { status: "hit"; artifact: Artifact }
  | { status: "miss" }
  | { status: "corrupt"; reason: string };

/** One stored artifact, as {@linkcode Cache.list} reports it (from manifests; files not read). */
export interface CacheEntry {
  key: string;
  plugin: string;
  version: string | null;
  created: Date;
  /** Last time it was written or read (the manifest's mtime). */
  lastUsed: Date;
  /** Total size of its files in bytes. */
  bytes: number;
  files: string[];
}

/** What {@linkcode Cache.verify} found. */
export interface VerifyReport {
  /** Keys whose every file matched its manifest (and whose provenance holds, when checked). */
  ok: string[];
  corrupt: { key: string; reason: string }[];
  /** Sound artifacts whose provenance no longer matches (see {@linkcode VerifyOptions.stale}). */
  stale: { key: string; reason: string }[];
  /** Leftovers of interrupted writes (tmp directories) and stray entries; `gc` removes them. */
  incomplete: string[];
}

/** Which artifacts {@linkcode Cache.gc} removes. */
export interface GcOptions {
  /** Keys never removed (e.g. those the current experiment uses). */
  keep?: ReadonlySet<string>;
  /**
   * Remove artifacts not used for this many milliseconds, or not used since this date.
   * With `keep` alone every artifact outside `keep` is removed; with neither only leftovers go.
   */
  olderThan?: number | Date;
  /** Leave tmp directories younger than this alone: another process may be writing them. Default 15 min. */
  tmpGraceMs?: number;
  /** Clock for tests. */
  now?: Date;
}

/** What {@linkcode Cache.gc} removed. */
export interface GcReport {
  removed: string[];
  /** Tmp directories and entries without a valid manifest that were removed. */
  leftoversRemoved: number;
  bytesFreed: number;
}

/** An open cache directory. */
export interface Cache {
  dir: string;
  /** Whether a manifest for `key` exists (cheap; files are checked by `get`). */
  has(key: string): Promise<boolean>;
  /** Reads and verifies an artifact; a corrupt one is removed and reported. */
  lookup(key: string): Promise<Lookup>;
  /** Reads and verifies an artifact without touching it (no removal, no last-used stamp). */
  check(key: string): Promise<Lookup>;
  /** `lookup` reduced to the artifact or `undefined` (miss or corrupt). */
  get(key: string): Promise<Artifact | undefined>;
  /** Stores an artifact atomically; when another writer won the race, returns theirs. */
  put(key: string, files: Record<string, FileData>, meta: PutMeta): Promise<Artifact>;
  /** Removes one artifact; false when there was none. */
  remove(key: string): Promise<boolean>;
  /** Checks every artifact; `remove: true` also deletes the corrupt (and stale) ones. */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  list(): Promise<CacheEntry[]>;
  gc(options?: GcOptions): Promise<GcReport>;
}

/** Options of {@linkcode Cache.verify}. */
export interface VerifyOptions {
  /** Delete corrupt and stale artifacts. */
  remove?: boolean;
  /** Why a sound artifact is stale (its inputs changed since), or undefined when it is not. */
  stale?: (manifest: Manifest) => Promise<string | undefined>;
}

/** Options of {@linkcode openCache}. */
export interface CacheOptions {
  /** Called when a lookup finds a corrupt artifact (default: a warning on stderr). */
  onCorrupt?: (key: string, reason: string) => void;
}

const MANIFEST = "manifest.json";
const TMP = "tmp";
const KEY_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DEFAULT_TMP_GRACE_MS = 15 * 60_000;

// ---------------------------------------------------------------- open

/**
 * Opens (creating if needed) a cache directory. Throws {@linkcode KtError} with the path and a
 * fix when the directory cannot be created or written.
 *
 * @example
 * ```ts
 * import { openCache } from "./cache.ts";
 * const dir = await Deno.makeTempDir();
 * const cache = await openCache(dir, { onCorrupt: (key, why) => console.log(key, why) });
 * (await cache.list()).length; // 0
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openCache(dir: string, options: CacheOptions = {}): Promise<Cache> {
  const tmpRoot = join(dir, TMP);
  await guard(
    tmpRoot,
    "create the cache directory",
    () => Deno.mkdir(tmpRoot, { recursive: true }),
  );
  const onCorrupt = options.onCorrupt ??
    ((key: string, reason: string) =>
      console.warn(`kt cache: removed corrupt artifact ${key}: ${reason}; it will be recomputed`));

  const keyDir = (key: string) => join(dir, key.slice(0, 2), key);

  async function has(key: string): Promise<boolean> {
    checkKey(key);
    try {
      return isManifest(JSON.parse(await Deno.readTextFile(join(keyDir(key), MANIFEST))), key);
    } catch {
      return false;
    }
  }

  async function lookup(key: string): Promise<Lookup> {
    checkKey(key);
    const found = await check(keyDir(key), key);
    if (found.status === "hit") {
      const now = new Date();
      await Deno.utime(join(found.artifact.dir, MANIFEST), now, now).catch(() => {});
    } else if (found.status === "corrupt") {
      await removeDir(keyDir(key));
      onCorrupt(key, found.reason);
    }
    return found;
  }

  function checkOnly(key: string): Promise<Lookup> {
    checkKey(key);
    return check(keyDir(key), key);
  }

  async function get(key: string): Promise<Artifact | undefined> {
    const found = await lookup(key);
    return found.status === "hit" ? found.artifact : undefined;
  }

  async function put(
    key: string,
    files: Record<string, FileData>,
    meta: PutMeta,
  ): Promise<Artifact> {
    checkKey(key);
    const bytes = new Map<string, Uint8Array>();
    const entries: Record<string, ManifestFile> = {};
    for (const [name, data] of Object.entries(files)) {
      checkName(name);
      const { raw, shape } = encode(name, data);
      bytes.set(name, raw);
      entries[name] = {
        size: raw.byteLength,
        sha256: sha256Hex(raw),
        ...(shape ? { dtype: "float32" as const, shape } : {}),
      };
    }
    const manifest: Manifest = {
      format: 1,
      key,
      plugin: meta.plugin,
      version: meta.version ?? null,
      created: new Date().toISOString(),
      files: entries,
      info: meta.info ?? {},
      ...(meta.provenance ? { provenance: meta.provenance } : {}),
    };
    const tmp = join(tmpRoot, randomUUID());
    const final = keyDir(key);
    try {
      await guard(tmp, "write to the cache", async () => {
        await Deno.mkdir(tmp, { recursive: true });
        for (const [name, raw] of bytes) await writeDurably(join(tmp, name), raw);
        await writeDurably(join(tmp, MANIFEST), new TextEncoder().encode(JSON.stringify(manifest)));
        await syncDir(tmp);
      });
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await renameInto(tmp, final)) {
          await syncDir(join(dir, key.slice(0, 2)));
          return makeArtifact(final, manifest, bytes);
        }
        // Lost the race (or a broken directory sits there): use the winner's copy if it is sound.
        const existing = await lookup(key);
        if (existing.status === "hit") return existing.artifact;
      }
      throw new KtError(`could not store cache artifact ${key} at ${final}`, {
        where: final,
        hint: "another process keeps replacing it; remove the directory and rerun",
      });
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }

  async function renameInto(tmp: string, final: string): Promise<boolean> {
    const parent = join(final, "..");
    return await guard(parent, "write to the cache", async () => {
      await Deno.mkdir(parent, { recursive: true });
      try {
        await Deno.rename(tmp, final);
        return true;
      } catch (e) {
        if (isDirNotEmpty(e)) return false;
        throw e;
      }
    });
  }

  /** Moves a directory out of sight atomically (into tmp/), then deletes it. */
  async function removeDir(path: string): Promise<boolean> {
    const trash = join(tmpRoot, `trash-${randomUUID()}`);
    try {
      await Deno.rename(path, trash);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    }
    await Deno.remove(trash, { recursive: true });
    return true;
  }

  async function remove(key: string): Promise<boolean> {
    checkKey(key);
    return await guard(keyDir(key), "remove from the cache", () => removeDir(keyDir(key)));
  }

  async function verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    const report: VerifyReport = { ok: [], corrupt: [], stale: [], incomplete: [] };
    for await (const slot of scan()) {
      if (slot.kind === "tmp" || slot.kind === "stray") {
        report.incomplete.push(slot.path);
        continue;
      }
      const found = await check(slot.path, slot.key);
      if (found.status === "hit") {
        const stale = await opts.stale?.(found.artifact.manifest);
        if (stale === undefined) report.ok.push(slot.key);
        else {
          report.stale.push({ key: slot.key, reason: stale });
          if (opts.remove) await removeDir(slot.path);
        }
      } else if (found.status === "corrupt") {
        report.corrupt.push({ key: slot.key, reason: found.reason });
        if (opts.remove) await removeDir(slot.path);
      }
    }
    return report;
  }

  async function list(): Promise<CacheEntry[]> {
    const out: CacheEntry[] = [];
    for await (const slot of scan()) {
      if (slot.kind !== "entry") continue;
      const entry = await readEntry(slot.path, slot.key);
      if (entry) out.push(entry);
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async function gc(opts: GcOptions = {}): Promise<GcReport> {
    const now = (opts.now ?? new Date()).getTime();
    const grace = opts.tmpGraceMs ?? DEFAULT_TMP_GRACE_MS;
    const cutoff = opts.olderThan === undefined
      ? undefined
      : typeof opts.olderThan === "number"
      ? now - opts.olderThan
      : opts.olderThan.getTime();
    const selective = opts.keep !== undefined || cutoff !== undefined;
    const report: GcReport = { removed: [], leftoversRemoved: 0, bytesFreed: 0 };
    await guard(dir, "clean the cache", async () => {
      for await (const slot of scan()) {
        if (slot.kind === "tmp") {
          const stat = await Deno.stat(slot.path).catch(() => undefined);
          const age = now - (stat?.mtime?.getTime() ?? 0);
          if (slot.name.startsWith("trash-") || age >= grace) {
            report.bytesFreed += await duSize(slot.path);
            await Deno.remove(slot.path, { recursive: true }).catch(() => {});
            report.leftoversRemoved++;
          }
          continue;
        }
        if (slot.kind === "stray") continue; // not ours: leave it alone
        const entry = await readEntry(slot.path, slot.key);
        if (!entry) {
          const size = await duSize(slot.path);
          if (await removeDir(slot.path)) {
            report.leftoversRemoved++;
            report.bytesFreed += size;
          }
          continue;
        }
        if (!selective || opts.keep?.has(entry.key)) continue;
        if (cutoff !== undefined && entry.lastUsed.getTime() > cutoff) continue;
        if (await removeDir(slot.path)) {
          report.removed.push(entry.key);
          report.bytesFreed += entry.bytes;
        }
      }
    });
    return report;
  }

  type Slot =
    | { kind: "tmp"; path: string; name: string }
    | { kind: "entry"; path: string; key: string }
    | { kind: "stray"; path: string };

  /** Every directory the cache knows about: tmp leftovers, key directories, strays. */
  async function* scan(): AsyncGenerator<Slot> {
    for (const top of await readDirNames(dir)) {
      if (top.name === TMP) {
        for (const t of await readDirNames(tmpRoot)) {
          yield { kind: "tmp", path: join(tmpRoot, t.name), name: t.name };
        }
      } else if (/^[0-9a-f]{2}$/.test(top.name) && top.isDirectory) {
        for (const k of await readDirNames(join(dir, top.name))) {
          const path = join(dir, top.name, k.name);
          if (KEY_RE.test(k.name) && k.name.startsWith(top.name) && k.isDirectory) {
            yield { kind: "entry", path, key: k.name };
          } else yield { kind: "stray", path };
        }
      }
    }
  }

  return { dir, has, lookup, check: checkOnly, get, put, remove, verify, list, gc };
}

// ---------------------------------------------------------------- reading

async function check(path: string, key: string): Promise<Lookup> {
  let manifestText: string;
  try {
    manifestText = await Deno.readTextFile(join(path, MANIFEST));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const exists = await Deno.stat(path).then(() => true, () => false);
    return exists ? { status: "corrupt", reason: "no manifest.json" } : { status: "miss" };
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    return { status: "corrupt", reason: "manifest.json is not valid JSON" };
  }
  if (!isManifest(manifest, key)) {
    return { status: "corrupt", reason: "manifest.json is malformed or names another key" };
  }
  const bytes = new Map<string, Uint8Array>();
  for (const [name, file] of Object.entries(manifest.files)) {
    let raw: Uint8Array;
    try {
      raw = await Deno.readFile(join(path, name));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return { status: "corrupt", reason: `file ${name} is missing` };
      }
      throw e;
    }
    if (raw.byteLength !== file.size) {
      return {
        status: "corrupt",
        reason: `file ${name} has ${raw.byteLength} bytes, manifest says ${file.size}`,
      };
    }
    if (sha256Hex(raw) !== file.sha256) {
      return { status: "corrupt", reason: `file ${name} does not match its sha-256` };
    }
    bytes.set(name, raw);
  }
  return { status: "hit", artifact: makeArtifact(path, manifest, bytes) };
}

async function readEntry(path: string, key: string): Promise<CacheEntry | undefined> {
  try {
    const manifestPath = join(path, MANIFEST);
    const manifest: unknown = JSON.parse(await Deno.readTextFile(manifestPath));
    if (!isManifest(manifest, key)) return undefined;
    const stat = await Deno.stat(manifestPath);
    const files = Object.keys(manifest.files);
    return {
      key,
      plugin: manifest.plugin,
      version: manifest.version,
      created: new Date(manifest.created),
      lastUsed: stat.mtime ?? new Date(manifest.created),
      bytes: files.reduce((sum, f) => sum + manifest.files[f].size, 0),
      files,
    };
  } catch {
    return undefined;
  }
}

function makeArtifact(dir: string, manifest: Manifest, bytes: Map<string, Uint8Array>): Artifact {
  const file = (name: string): Uint8Array => {
    const raw = bytes.get(name);
    if (!raw) {
      throw new KtError(`artifact ${manifest.key} has no file "${name}"`, {
        where: dir,
        hint: `it has: ${[...bytes.keys()].join(", ") || "(no files)"}`,
      });
    }
    return raw;
  };
  const float32 = (name: string): Float32Array => {
    const raw = file(name);
    if (raw.byteLength % 4 !== 0) {
      throw new KtError(`file "${name}" of artifact ${manifest.key} is not float32 data`, {
        where: join(dir, name),
        hint: `its size ${raw.byteLength} is not a multiple of 4 bytes`,
      });
    }
    const aligned = raw.byteOffset % 4 === 0 ? raw : raw.slice();
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  };
  return {
    key: manifest.key,
    dir,
    manifest,
    path: (name) => join(dir, name),
    readFile: (name) => Promise.resolve().then(() => file(name)),
    readFloat32: (name) => Promise.resolve().then(() => float32(name)),
    readJson: (name) =>
      Promise.resolve().then(() => JSON.parse(new TextDecoder().decode(file(name))) as unknown),
    readFeatureTable: (name) =>
      Promise.resolve().then(() => {
        const shape = manifest.files[name]?.shape;
        if (!shape) {
          throw new KtError(`file "${name}" of artifact ${manifest.key} is not a feature table`, {
            where: join(dir, name),
            hint: "store it with put(key, { name: featureTable }) so its shape is recorded",
          });
        }
        return { values: float32(name), size: shape[0], dim: shape[1] };
      }),
  };
}

function isManifest(m: unknown, key: string): m is Manifest {
  if (typeof m !== "object" || m === null) return false;
  const r = m as Record<string, unknown>;
  if (r.format !== 1 || r.key !== key || typeof r.plugin !== "string") return false;
  if (typeof r.created !== "string" || typeof r.files !== "object" || r.files === null) {
    return false;
  }
  return Object.entries(r.files as Record<string, unknown>).every(([name, f]) => {
    if (!NAME_RE.test(name) || name === MANIFEST || typeof f !== "object" || f === null) {
      return false;
    }
    const file = f as Record<string, unknown>;
    return Number.isSafeInteger(file.size) && typeof file.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(file.sha256);
  });
}

// ---------------------------------------------------------------- writing helpers

function encode(name: string, data: FileData): { raw: Uint8Array; shape?: [number, number] } {
  if (data instanceof Uint8Array) return { raw: data };
  const { values, size, dim } = data;
  if (
    !(values instanceof Float32Array) || !Number.isInteger(size) || !Number.isInteger(dim) ||
    values.length !== size * dim
  ) {
    throw new KtError(`feature table "${name}" is inconsistent`, {
      hint: `values must be a Float32Array of size × dim = ${size} × ${dim} numbers, ` +
        `got ${values?.length ?? "none"}`,
    });
  }
  return {
    raw: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    shape: [size, dim],
  };
}

async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    let offset = 0;
    while (offset < data.byteLength) offset += await file.write(data.subarray(offset));
    await file.sync();
  } finally {
    file.close();
  }
}

async function syncDir(path: string): Promise<void> {
  // Makes the new directory entries durable; not supported everywhere, and then best-effort.
  try {
    const d = await Deno.open(path, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // ignore
  }
}

function checkKey(key: string): void {
  if (!KEY_RE.test(key)) {
    throw new KtError(`invalid cache key "${key}"`, {
      hint: "a key is 64 lowercase hex digits, as cacheKey() returns",
    });
  }
}

function checkName(name: string): void {
  if (!NAME_RE.test(name) || name === MANIFEST) {
    throw new KtError(`invalid artifact file name "${name}"`, {
      hint: "use letters, digits, '.', '_' or '-' (no slashes, not manifest.json), " +
        "e.g. features.f32",
    });
  }
}

function isDirNotEmpty(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return e instanceof Deno.errors.AlreadyExists || code === "ENOTEMPTY" || code === "EEXIST";
}

async function readDirNames(path: string): Promise<Deno.DirEntry[]> {
  try {
    return await Array.fromAsync(Deno.readDir(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

async function duSize(path: string): Promise<number> {
  let total = 0;
  for (const e of await readDirNames(path)) {
    const p = join(path, e.name);
    if (e.isDirectory) total += await duSize(p);
    else total += (await Deno.stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Runs `fn`, turning "not allowed to write here" into a KtError a user can act on. */
async function guard<T>(path: string, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof Deno.errors.NotCapable) {
      throw new KtError(`cannot ${action}: Deno has no write permission for ${path}`, {
        where: path,
        hint: "run with --allow-read --allow-write (deno task does this), or pick another cache " +
          "directory",
        cause: e,
      });
    }
    if (
      e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM" ||
      code === "EROFS"
    ) {
      throw new KtError(`cannot ${action}: permission denied at ${path}`, {
        where: path,
        hint: `make it writable (e.g. chmod u+w "${path}") or point kt at a writable cache ` +
          "directory",
        cause: e,
      });
    }
    throw e;
  }
}
