/**
 * Provenance of a node's output: what besides its plugin name, version and options decides it.
 *
 * - **numerics**: {@linkcode KT_NUMERICS_VERSION}, kt's own training numerics (the training
 *   loop, optimisers, layers, initialisers, data pipeline). Every node's key holds it, so a
 *   change to how kt computes invalidates every artifact at once.
 * - **code**: the sha-256 of each user plugin file a node runs (its own plugin and the inline
 *   plugins in its options), over the file and the local modules it imports (static relative
 *   imports, followed recursively, stopping at kt's own tree).
 * - **files**: the sha-256 of the bytes of each file or directory its options name — options
 *   declared with {@linkcode filePath} — hashed once and then remembered while the file's size,
 *   mtime, ctime and inode stay the same (a stat-keyed memo, `file-hashes.json` in the cache
 *   directory).
 *
 * The cache key holds the hashes (not the paths: moving an experiment with its data keeps its
 * artifacts); the manifest records them with the absolute paths, so `kt cache verify` can tell
 * which artifacts no longer match their inputs.
 * @module
 */
import { createHash } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import type { Plugin, PluginSpec } from "./api.ts";
import { FILE_META, PLUGIN_SPEC_META } from "./schema_meta.ts";
import { canonicalJson, type JsonValue } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { sha256Hex } from "./hash.ts";
import type { ResolvedNode } from "./config/validate.ts";
import { pluginSource, type Registry } from "./registry.ts";
import { type HashedSource, moduleHash } from "./source_hash.ts";

export { type HashedSource, moduleHash, relativeImports } from "./source_hash.ts";

/**
 * Version of kt's own training numerics. Bump it whenever a change makes the built-in steps
 * compute different numbers for the same options (loss, optimiser, layer, initialiser, data
 * order or normalisation): it is part of every cache key, so old artifacts are not reused.
 * `tests/numerics_test.ts` fails when the golden training run changes without a bump.
 */
export const KT_NUMERICS_VERSION = 2;

/** What decided a node's output besides its options (see the module doc). */
export interface Provenance {
  /** The version of kt's numerics (`KT_NUMERICS_VERSION`) the output was computed with. */
  numerics: number;
  /** User plugin code the node runs, by `kind:name`. */
  code: Record<string, HashedSource>;
  /** Files and directories named by options, by option path (e.g. `images`, `model.weights`). */
  files: Record<string, HashedSource>;
  /**
   * Cache keys of the step nodes it read (recorded in manifests, not part of the key, which
   * holds them already): an artifact built on a stale one is stale too.
   */
  inputs?: string[];
}

/** The part of a provenance that enters the cache key: versions and hashes, no paths. */
export function provenanceKey(p: Provenance): JsonValue {
  const hashes = (m: Record<string, HashedSource>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.sha256]));
  return { numerics: p.numerics, code: hashes(p.code), files: hashes(p.files) };
}

/**
 * What a manifest records of a node: its own provenance plus that of the dataset and teacher
 * nodes it reads (their files and code, prefixed with the node's name: `train.images`), and
 * the keys of the step nodes it reads. `inputs` holds, by name, what each input recorded and
 * its key.
 */
export function recordedProvenance(
  own: Provenance,
  inputs: { name: string; step: boolean; key: string; recorded: Provenance }[],
): Provenance {
  const out: Provenance = { ...own, code: { ...own.code }, files: { ...own.files }, inputs: [] };
  for (const input of inputs) {
    if (input.step) {
      out.inputs!.push(input.key);
      continue;
    }
    Object.assign(out.code, input.recorded.code);
    for (const [option, src] of Object.entries(input.recorded.files)) {
      out.files[`${input.name}.${option}`] = src;
    }
    out.inputs!.push(...input.recorded.inputs ?? []);
  }
  out.inputs = [...new Set(out.inputs)];
  return out;
}

// ---------------------------------------------------------------- files named by options

/** The largest number of files a directory option may hold (all are hashed). */
export const MAX_HASHED_FILES = 100_000;
/** A file changed this recently is hashed again next time (its mtime may not show a rewrite). */
const RACY_MS = 2_000;
const MEMO_FILE = "file-hashes.json";

interface MemoEntry {
  size: number;
  mtime: number;
  ctime: number;
  ino: number;
  sha256: string;
}

/** Hashes files and directories, remembering them by stat (see {@linkcode openHashMemo}). */
export interface HashMemo {
  /**
   * Hex sha-256 of a file's bytes, or of a directory's sorted listing of names and hashes
   * (recursively); `missing:` when nothing is there, `special:` for devices, pipes and sockets
   * (never read).
   */
  hash(path: string): Promise<string>;
  /** Writes the memo back (atomically) when it changed; a no-op without a directory. */
  save(): Promise<void>;
}

/**
 * A hash memo kept in `dir/file-hashes.json` (no file when `dir` is undefined). A file is read
 * again when its size, mtime, ctime or inode changed, or when it changed in the last 2 s.
 * `trust: false` ignores what the file remembers (every file is read once; used by
 * `kt cache verify`); `racyMs` sets the "changed too recently to remember" window.
 */
export async function openHashMemo(
  dir?: string,
  options: { trust?: boolean; racyMs?: number } = {},
): Promise<HashMemo> {
  const racyMs = options.racyMs ?? RACY_MS;
  const path = dir === undefined ? undefined : join(dir, MEMO_FILE);
  let stored: Record<string, MemoEntry> = {};
  if (path && options.trust !== false) {
    try {
      const parsed = JSON.parse(await Deno.readTextFile(path));
      if (parsed?.version === 1 && typeof parsed.entries === "object") stored = parsed.entries;
    } catch { /* none yet, or unreadable: start afresh */ }
  }
  const fresh = new Map<string, Promise<string>>();
  let changed = false;
  let counted = 0;

  const hashFile = async (file: string, stat: Deno.FileInfo): Promise<string> => {
    const mtime = stat.mtime?.getTime() ?? 0;
    const ctime = stat.ctime?.getTime() ?? 0;
    const ino = stat.ino ?? 0;
    const known = stored[file];
    if (
      known && known.size === stat.size && known.mtime === mtime && known.ctime === ctime &&
      known.ino === ino
    ) return known.sha256;
    const digest = await streamSha256(file);
    if (Date.now() - Math.max(mtime, ctime) > racyMs) {
      stored[file] = { size: stat.size, mtime, ctime, ino, sha256: digest };
      changed = true;
    }
    return digest;
  };

  const hashPath = async (p: string, depth: number): Promise<string> => {
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(p);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return "missing:";
      throw e;
    }
    if (stat.isFile) {
      if (++counted > MAX_HASHED_FILES) {
        throw new KtError(`more than ${MAX_HASHED_FILES} files to hash under an option's path`, {
          where: p,
          hint: "name the data files themselves, or a smaller directory",
        });
      }
      return await hashFile(p, stat);
    }
    if (!stat.isDirectory) return "special:";
    if (depth > 32) throw new KtError(`directory tree too deep to hash`, { where: p });
    const names = (await Array.fromAsync(Deno.readDir(p))).map((e) => e.name).sort();
    const listing: [string, string][] = [];
    for (const name of names) listing.push([name, await hashPath(join(p, name), depth + 1)]);
    return sha256Hex(canonicalJson(listing));
  };

  return {
    hash(p) {
      const abs = resolve(p);
      let h = fresh.get(abs);
      if (!h) {
        h = hashPath(abs, 0);
        fresh.set(abs, h);
      }
      return h;
    },
    async save() {
      if (!path || !changed) return;
      const tmp = `${path}.${crypto.randomUUID()}.tmp`;
      try {
        await Deno.writeTextFile(tmp, JSON.stringify({ version: 1, entries: stored }));
        await Deno.rename(tmp, path);
        changed = false;
      } catch {
        // The memo only saves time: a cache directory that cannot take it still works.
        await Deno.remove(tmp).catch(() => {});
      }
    },
  };
}

async function streamSha256(path: string): Promise<string> {
  const h = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) h.update(chunk);
  return h.digest("hex");
}

// ---------------------------------------------------------------- what a node names

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  items?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

const UNWRAP = new Set([
  "optional",
  "nullable",
  "default",
  "prefault",
  "readonly",
  "nonoptional",
  "catch",
]);

/** The plugins and file options a node's options hold. */
export interface NodeInputs {
  /** The node's plugin and every inline plugin in its options. */
  plugins: Plugin[];
  /** Option path → path as written, for every {@linkcode filePath} option. */
  files: [string, string][];
}

/**
 * Walks a plugin's options against its schema: every string of a {@linkcode filePath} option and
 * every inline plugin (recursively, through `registry`).
 */
export function nodeInputs(plugin: Plugin, options: unknown, registry: Registry): NodeInputs {
  const known = typeof options === "object" && options !== null ? walked.get(options) : undefined;
  if (known?.plugin === plugin && known.registry === registry) return known.inputs;
  const out: NodeInputs = { plugins: [plugin], files: [] };
  const visit = (schema: z.ZodType, value: unknown, path: string, depth: number) => {
    if (value === undefined || value === null || depth > 64 || !hasMarkers(schema)) return;
    const meta = z.globalRegistry.get(schema) as Record<string, unknown> | undefined;
    if (meta?.[FILE_META] && typeof value === "string") {
      out.files.push([path, value]);
      return;
    }
    if (typeof meta?.[PLUGIN_SPEC_META] === "string") {
      const spec = value as PluginSpec;
      const inner = registry.find(spec.kind, spec.use);
      if (inner) {
        out.plugins.push(inner);
        visit(inner.options as z.ZodType, spec.options, path, depth + 1);
      }
      return;
    }
    const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
    const at = (k: string | number) => path === "" ? String(k) : `${path}.${k}`;
    if (UNWRAP.has(def.type)) visit(def.innerType!, value, path, depth + 1);
    else if (def.type === "pipe") visit(def.in!, value, path, depth + 1);
    else if (def.type === "lazy") visit(def.getter!(), value, path, depth + 1);
    else if (def.type === "object" && typeof value === "object") {
      for (const [k, s] of Object.entries(def.shape!)) {
        visit(s, (value as Record<string, unknown>)[k], at(k), depth + 1);
      }
    } else if (def.type === "array" && Array.isArray(value)) {
      value.forEach((v, i) => visit(def.element!, v, at(i), depth + 1));
    } else if (def.type === "tuple" && Array.isArray(value)) {
      def.items!.forEach((s, i) => visit(s, value[i], at(i), depth + 1));
    } else if (def.type === "record" && typeof value === "object") {
      for (const [k, v] of Object.entries(value as object)) visit(def.valueType!, v, at(k), depth);
    } else if (def.type === "union") {
      for (const o of def.options!) visit(o, value, path, depth + 1);
    } else if (def.type === "intersection") {
      visit(def.left!, value, path, depth + 1);
      visit(def.right!, value, path, depth + 1);
    }
  };
  visit(plugin.options as z.ZodType, options, "", 0);
  // A union may list one option twice; keep each file option once.
  out.files = [...new Map(out.files.map((f) => [f[0], f])).values()];
  if (typeof options === "object" && options !== null) {
    walked.set(options, { plugin, registry, inputs: out });
  }
  return out;
}

/** What {@linkcode nodeInputs} found, by options object (a sweep asks for each node twice). */
const walked = new WeakMap<object, { plugin: Plugin; registry: Registry; inputs: NodeInputs }>();

const markers = new WeakMap<z.ZodType, boolean>();

/**
 * Whether a schema holds a {@linkcode filePath} or inline-plugin option anywhere: the walk of
 * a node's options skips the parts that cannot (most of them), which keeps planning 100,000
 * trials fast.
 */
function hasMarkers(schema: z.ZodType, depth = 0): boolean {
  const known = markers.get(schema);
  if (known !== undefined) return known;
  if (depth > 64) return true;
  const meta = z.globalRegistry.get(schema) as Record<string, unknown> | undefined;
  let found = meta?.[FILE_META] === true || typeof meta?.[PLUGIN_SPEC_META] === "string";
  if (!found) {
    markers.set(schema, true); // a recursive (lazy) schema: assume it may, while looking
    const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
    const children: z.ZodType[] = [
      def.innerType,
      def.in,
      def.element,
      def.valueType,
      def.left,
      def.right,
      def.type === "lazy" ? def.getter!() : undefined,
      ...Object.values(def.shape ?? {}),
      ...(def.options ?? []),
      ...(def.items ?? []),
    ].filter((c): c is z.ZodType => c !== undefined);
    found = children.some((c) => hasMarkers(c, depth + 1));
  }
  markers.set(schema, found);
  return found;
}

// ---------------------------------------------------------------- a node's provenance

/** What computing provenances needs: the registry, the base of relative paths, file hashes. */
export interface ProvenanceContext {
  registry: Registry;
  /** The experiment file's directory. */
  baseDir: string;
  /** Hashes of every file the nodes name, by absolute path ({@linkcode hashNodeFiles}). */
  files: ReadonlyMap<string, string>;
  /** Hash of each user plugin's file (with its local imports), by plugin object. */
  code(plugin: Plugin): HashedSource | undefined;
  /** Provenances already computed, by a node's options object. */
  memo?: WeakMap<object, Provenance>;
}

/**
 * The provenance context of an experiment's trials: user plugin code as loaded
 * ({@linkcode pluginSource}), and the hashes of every file their nodes name, read through the
 * stat-keyed memo in `cacheDir` (none when undefined).
 */
export async function provenanceContext(
  experiment: { registry: Registry; dir: string },
  trials: readonly { graph: { nodes: Record<string, ResolvedNode> } }[],
  cacheDir?: string,
): Promise<ProvenanceContext> {
  const nodes = trials.flatMap((t) => Object.values(t.graph.nodes));
  const memo = await openHashMemo(cacheDir);
  return {
    registry: experiment.registry,
    baseDir: experiment.dir,
    files: await hashNodeFiles(nodes, experiment.registry, experiment.dir, memo),
    code: pluginSource,
    memo: new WeakMap(),
  };
}

/**
 * The provenance of a node. Throws {@linkcode KtError} when a file it names was not hashed
 * (a caller that skipped {@linkcode hashNodeFiles}).
 */
export function nodeProvenance(node: ResolvedNode, ctx: ProvenanceContext): Provenance {
  const known = ctx.memo?.get(node.options);
  if (known) return known;
  const { plugins, files } = nodeInputs(node.plugin, node.options, ctx.registry);
  const p: Provenance = { numerics: KT_NUMERICS_VERSION, code: {}, files: {} };
  for (const plugin of plugins) {
    const source = ctx.code(plugin);
    if (source) p.code[`${plugin.kind}:${plugin.name}`] = source;
  }
  for (const [option, written] of files) {
    const path = isAbsolute(written) ? written : resolve(ctx.baseDir, written);
    const sha = ctx.files.get(path);
    if (sha === undefined) {
      throw new KtError(`internal: file ${path} of node "${node.name}" was not hashed`);
    }
    p.files[option] = { path, sha256: sha };
  }
  ctx.memo?.set(node.options, p);
  return p;
}

/** Absolute paths of every file option of `nodes`. */
export function nodeFilePaths(
  nodes: Iterable<ResolvedNode>,
  registry: Registry,
  baseDir: string,
): Set<string> {
  const paths = new Set<string>();
  const seen = new WeakSet<object>();
  for (const node of nodes) {
    if (seen.has(node.options)) continue;
    seen.add(node.options);
    for (const [, written] of nodeInputs(node.plugin, node.options, registry).files) {
      paths.add(isAbsolute(written) ? written : resolve(baseDir, written));
    }
  }
  return paths;
}

/** Hashes every file option of `nodes` through `memo`; returns hashes by absolute path. */
export async function hashNodeFiles(
  nodes: Iterable<ResolvedNode>,
  registry: Registry,
  baseDir: string,
  memo: HashMemo,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const path of nodeFilePaths(nodes, registry, baseDir)) out.set(path, await memo.hash(path));
  await memo.save();
  return out;
}

/**
 * Why a recorded provenance no longer holds (its first difference), or undefined when it does:
 * another numerics version, a user plugin file or an input file whose content changed.
 */
export async function staleReason(
  recorded: Provenance,
  memo: HashMemo,
): Promise<string | undefined> {
  if (recorded.numerics !== KT_NUMERICS_VERSION) {
    return `made with kt numerics version ${recorded.numerics}; this kt has ${KT_NUMERICS_VERSION}`;
  }
  for (const [name, src] of Object.entries(recorded.code ?? {})) {
    if (await moduleHash(src.path) !== src.sha256) {
      return `the code of plugin ${name} (${src.path}) changed`;
    }
  }
  for (const [option, src] of Object.entries(recorded.files ?? {})) {
    if (await memo.hash(src.path) !== src.sha256) {
      return `${src.path} (option ${option}) changed`;
    }
  }
  return undefined;
}

/** Whether `value` looks like a {@linkcode Provenance} (as read back from a manifest). */
export function isProvenance(value: unknown): value is Provenance {
  const p = value as Provenance | null;
  return typeof p === "object" && p !== null && typeof p.numerics === "number" &&
    typeof p.code === "object" && typeof p.files === "object";
}

/**
 * The artifacts among `ok` built (directly or through others) on a stale one, by the step input
 * keys their provenance records, each with the input that made it stale.
 *
 * @example
 * ```ts
 * import { staleDependents } from "./provenance.ts";
 * const inputs = new Map([["student", ["teacher"]], ["eval", ["student"]]]);
 * staleDependents(["student", "eval"], inputs, ["teacher"]);
 * // [{ key: "student", input: "teacher" }, { key: "eval", input: "student" }]
 * ```
 */
export function staleDependents(
  ok: readonly string[],
  inputsOf: ReadonlyMap<string, readonly string[]>,
  stale: readonly string[],
): { key: string; input: string }[] {
  const bad = new Set(stale);
  const out: { key: string; input: string }[] = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const key of ok) {
      if (bad.has(key)) continue;
      const input = inputsOf.get(key)?.find((k) => bad.has(k));
      if (input === undefined) continue;
      bad.add(key);
      out.push({ key, input });
      changed = true;
    }
  }
  return out;
}
