/**
 * Validation of the experiment graph against the plugin registry. Node types are plugins: each
 * node's `use:` names a plugin and its other keys are checked against that plugin's zod schema.
 * Options marked with {@linkcode ref} name other nodes; options marked with
 * {@linkcode pluginSpec} hold inline plugins, checked recursively. Every problem is collected
 * with its `line:col`, never just the first.
 * @module
 */
import { z } from "zod";
import { type Plugin, PLUGIN_KINDS, type PluginKind, type PluginSpec } from "../api.ts";
import { PLUGIN_SPEC_META, REF_META, WEIGHTED_META } from "../schema_meta.ts";
import { closestNames, unknownNameMessage } from "../errors.ts";
import type { Registry } from "../registry.ts";
import { MAX_NAME_LENGTH } from "./names.ts";
import {
  describeValue,
  entryOf,
  fromPlain,
  type Loc,
  type Problem,
  Problems,
  type SourceMap,
  type SourceValue,
  toPlain,
} from "./parse.ts";

export type { PluginSpec } from "../api.ts";

/** An option of a node that names another node. */
export interface NodeRef {
  /** Option path inside the node, e.g. `data` or `loss.options.teacher`. */
  option: string;
  /** The referenced node. */
  node: string;
}

/** A node after validation: its plugin, options with defaults applied, and its references. */
export interface ResolvedNode {
  /** The node's name in the experiment. */
  name: string;
  /** Plugin name (`use:`). */
  use: string;
  /** The plugin's kind (`dataset`, `teacher`, `step`, ...). */
  kind: PluginKind;
  /** Plugin version ("" when the plugin sets none); part of every cache key. */
  version: string;
  /** The plugin object itself. */
  plugin: Plugin;
  /**
   * Options as the plugin's schema outputs them (defaults applied). Reference options hold the
   * referenced node's name; inline plugin options hold a {@linkcode PluginSpec}.
   */
  options: Record<string, unknown>;
  /** Every reference option, in schema order. */
  refs: NodeRef[];
  /** Distinct referenced node names, in first-reference order. */
  inputs: string[];
  /** `file:line:col` of the node's name, for runtime messages. */
  where: string;
  /** Where the node's name is written. */
  loc: Loc;
  /** The node as written (a map with `use`), for locating its options in messages. */
  source: SourceValue;
}

/** The validated graph of one trial. */
export interface ResolvedGraph {
  /** Nodes by name. */
  nodes: Record<string, ResolvedNode>;
  /** Node names in dependency order (inputs first; ties in file order). */
  order: string[];
}

/** Names a node may have: they are used in references and in sweep option paths. */
export const NODE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The longest node name. */
export const MAX_NODE_NAME_LENGTH = MAX_NAME_LENGTH;

// ------------------------------------------------------------------ zod schema introspection

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  valueType?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  defaultValue?: unknown;
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

const WRAPPERS = new Set(["optional", "nullable", "readonly", "nonoptional", "catch"]);

type Marker = { ref: string[] } | { spec: PluginKind; weighted: boolean };

function markerOf(schema: z.ZodType): Marker | undefined {
  const meta = z.globalRegistry.get(schema) as Record<string, unknown> | undefined;
  if (!meta) return undefined;
  if (Array.isArray(meta[REF_META])) return { ref: meta[REF_META] as string[] };
  const kind = meta[PLUGIN_SPEC_META];
  if (typeof kind === "string" && (PLUGIN_KINDS as readonly string[]).includes(kind)) {
    return { spec: kind as PluginKind, weighted: meta[WEIGHTED_META] === true };
  }
  return undefined;
}

/** The keys of the object schema found at `path` inside `schema`, if there is one. */
function objectKeysAt(schema: z.ZodType, path: PropertyKey[], depth = 0): string[] | undefined {
  if (depth > 32) return undefined;
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) || def.type === "default" || def.type === "prefault") {
    return objectKeysAt(def.innerType!, path, depth + 1);
  }
  if (def.type === "pipe") return objectKeysAt(def.in!, path, depth + 1);
  if (def.type === "lazy") return objectKeysAt(def.getter!(), path, depth + 1);
  if (path.length === 0) return def.type === "object" ? Object.keys(def.shape!) : undefined;
  const [head, ...rest] = path;
  if (def.type === "object") {
    const child = def.shape![String(head)];
    return child ? objectKeysAt(child, rest, depth + 1) : undefined;
  }
  if (def.type === "array") return objectKeysAt(def.element!, rest, depth + 1);
  if (def.type === "record") return objectKeysAt(def.valueType!, rest, depth + 1);
  if (def.type === "union") {
    for (const o of def.options!) {
      const keys = objectKeysAt(o, path, depth + 1);
      if (keys) return keys;
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ source helpers

/** Where an issue at `path` points: the deepest existing value (or key, for `keyOf`). */
function locate(root: SourceValue, path: PropertyKey[], fallback: Loc): Loc {
  let cur: SourceValue = root;
  let loc = root.loc ?? fallback;
  for (const seg of path) {
    if (cur.type === "map") {
      const e = entryOf(cur, String(seg));
      if (!e) return loc;
      cur = e.value;
      loc = cur.loc;
    } else if (cur.type === "seq" && typeof seg === "number" && seg < cur.items.length) {
      cur = cur.items[seg];
      loc = cur.loc;
    } else {
      return loc;
    }
  }
  return loc;
}

function keyLocAt(root: SourceValue, path: PropertyKey[], key: string): Loc | undefined {
  let cur: SourceValue = root;
  for (const seg of path) {
    if (cur.type === "map") {
      const e = entryOf(cur, String(seg));
      if (!e) return undefined;
      cur = e.value;
    } else if (cur.type === "seq" && typeof seg === "number") {
      if (seg >= cur.items.length) return undefined;
      cur = cur.items[seg];
    } else {
      return undefined;
    }
  }
  return cur.type === "map" ? entryOf(cur, key)?.keyLoc : undefined;
}

/**
 * Where option `path` (dot-separated, e.g. `model.dense.0`, with inline plugins' options written
 * beside their `use`) of a resolved node is written: the deepest part of the path that exists in
 * the file, else the node's name.
 */
export function optionLoc(node: ResolvedNode, path: string): Loc {
  const parts = path === "" ? [] : path.split(".").map((p) => /^\d+$/.test(p) ? Number(p) : p);
  return parts.length === 0 ? node.loc : locate(node.source, parts, node.loc);
}

/** `target` with `value` at `path`, copying the containers on the way (zod defaults are shared). */
function withAt(target: unknown, path: PropertyKey[], value: unknown): unknown {
  if (path.length === 0) return value;
  if (typeof target !== "object" || target === null) return target;
  const [head, ...rest] = path;
  const copy = (Array.isArray(target) ? [...target] : { ...target }) as Record<
    PropertyKey,
    unknown
  >;
  copy[head] = withAt(copy[head], rest, value);
  return copy;
}

function startsWith(path: PropertyKey[], prefix: PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

function kindPhrase(accepts: string[]): string {
  if (accepts.length === 0) return "a node";
  const words = accepts.length === 1
    ? accepts[0]
    : `${accepts.slice(0, -1).join(", ")} or ${accepts[accepts.length - 1]}`;
  return `${article(words)} ${words} node`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

// ------------------------------------------------------------------ options of one plugin

interface PendingRef extends NodeRef {
  accepts: string[];
  loc: Loc;
  /** Who holds the reference, for messages: `option "data" of plugin "transfer"`. */
  holder: string;
}

interface OptionsResult {
  options?: Record<string, unknown>;
  refs: PendingRef[];
}

/** Checks options of plugins against their schemas, reporting into `problems`. */
class OptionChecker {
  constructor(readonly registry: Registry, readonly problems: Problems) {}

  /**
   * Validates `source` (a map of options, or undefined for none) against `plugin`'s schema.
   * `prefix` is the option path of this plugin inside its node (for reference paths).
   */
  check(plugin: Plugin, source: SourceMap, prefix: string[], depth: number): OptionsResult {
    const schema = plugin.options as z.ZodType;
    const plain = toPlain(source);
    const parsed = schema.safeParse(plain, { reportInput: true });
    const refs: PendingRef[] = [];
    const handled: PropertyKey[][] = [];
    const replacements: { path: PropertyKey[]; value: unknown }[] = [];
    const label = (path: PropertyKey[]) => `option "${path.join(".")}" of plugin "${plugin.name}"`;

    const walk = (s: z.ZodType, src: SourceValue | undefined, path: PropertyKey[], d: number) => {
      if (d > 64) return;
      const marker = markerOf(s);
      if (marker && src !== undefined) {
        handled.push(path);
        if ("ref" in marker) {
          if (src.type !== "scalar" || typeof src.value !== "string") {
            this.problems.add(
              src.loc,
              `${label(path)} must name ${kindPhrase(marker.ref)}, got ${
                describeValue(toPlain(src))
              }`,
            );
            return;
          }
          refs.push({
            option: [...prefix, ...path].join("."),
            node: src.value,
            accepts: marker.ref,
            loc: src.loc,
            holder: label(path),
          });
          replacements.push({ path, value: src.value });
        } else {
          const spec = this.spec(
            marker.spec,
            src,
            label(path),
            [...prefix, ...path],
            depth,
            marker.weighted,
          );
          refs.push(...spec.refs);
          if (spec.value) replacements.push({ path, value: spec.value });
        }
        return;
      }
      const def = defOf(s);
      if (WRAPPERS.has(def.type)) return walk(def.innerType!, src, path, d + 1);
      if (def.type === "default" || def.type === "prefault") {
        if (src === undefined && def.defaultValue !== undefined && containsMarker(s)) {
          const loc = locate(source, path.slice(0, -1), source.loc);
          return walk(def.innerType!, fromPlain(def.defaultValue, loc), path, d + 1);
        }
        return walk(def.innerType!, src, path, d + 1);
      }
      if (def.type === "pipe") return walk(def.in!, src, path, d + 1);
      if (def.type === "lazy") return walk(def.getter!(), src, path, d + 1);
      if (def.type === "object") {
        if (src !== undefined && src.type !== "map") return;
        for (const [key, child] of Object.entries(def.shape!)) {
          const e = src === undefined ? undefined : entryOf(src, key);
          if (e !== undefined || containsMarker(child)) {
            walk(child, e?.value, [...path, key], d + 1);
          }
        }
        return;
      }
      if (src === undefined) return;
      if (def.type === "array" && src.type === "seq") {
        src.items.forEach((item, i) => walk(def.element!, item, [...path, i], d + 1));
      } else if (def.type === "tuple" && src.type === "seq") {
        src.items.forEach((item, i) => {
          const itemSchema = def.items![i] ?? def.rest;
          if (itemSchema) walk(itemSchema, item, [...path, i], d + 1);
        });
      } else if (def.type === "record" && src.type === "map") {
        for (const e of src.entries) walk(def.valueType!, e.value, [...path, e.key], d + 1);
      } else if (def.type === "union") {
        const option = pickUnionOption(def.options!, src);
        if (option) walk(option, src, path, d + 1);
      }
    };
    walk(schema, source, [], 0);

    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        if (handled.some((h) => startsWith(issue.path, h))) continue;
        this.issue(plugin, schema, source, issue as z.core.$ZodIssue);
      }
      return { refs };
    }
    let options = parsed.data as Record<string, unknown>;
    for (const r of replacements) {
      if (r.path.length > 0) options = withAt(options, r.path, r.value) as Record<string, unknown>;
    }
    return { options, refs };
  }

  /** An inline plugin (`loss: pkt` or `loss: { use: pkt, ... }`) of `kind`. */
  spec(
    kind: PluginKind,
    src: SourceValue,
    holder: string,
    prefix: PropertyKey[],
    depth: number,
    weighted = false,
  ): { value?: PluginSpec; refs: PendingRef[] } {
    const expected = `expected a ${kind} name or { use: <${kind}>, ...options }`;
    if (depth > 16) {
      this.problems.add(src.loc, `${holder}: inline plugins nested too deeply`);
      return { refs: [] };
    }
    let name: string;
    let options: SourceMap;
    let useLoc: Loc;
    if (src.type === "scalar" && typeof src.value === "string") {
      name = src.value;
      useLoc = src.loc;
      options = { type: "map", entries: [], loc: src.loc };
    } else if (src.type === "map") {
      const use = entryOf(src, "use");
      if (!use) {
        this.problems.add(src.loc, `${holder}: missing "use: <${kind}>" (${expected})`);
        return { refs: [] };
      }
      if (use.value.type !== "scalar" || typeof use.value.value !== "string") {
        this.problems.add(
          use.value.loc,
          `${holder}: "use" must be a ${kind} name, got ${describeValue(toPlain(use.value))}`,
        );
        return { refs: [] };
      }
      name = use.value.value;
      useLoc = use.value.loc;
      // A weighted term's `weight` is its holder's, not an option of its plugin.
      const own = (key: string) => key === "use" || (weighted && key === "weight");
      options = { ...src, entries: src.entries.filter((e) => !own(e.key)) };
    } else {
      this.problems.add(src.loc, `${holder}: ${expected}, got ${describeValue(toPlain(src))}`);
      return { refs: [] };
    }
    const plugin = this.registry.find(kind, name);
    if (!plugin) {
      this.problems.add(useLoc, unknownPluginMessage(kind, name, this.registry.names(kind)));
      return { refs: [] };
    }
    let weight: number | undefined;
    if (weighted) {
      const w = src.type === "map" ? entryOf(src, "weight")?.value : undefined;
      weight = 1;
      if (w && (w.type !== "scalar" || typeof w.value !== "number" || !Number.isFinite(w.value))) {
        this.problems.add(
          w.loc,
          `${holder}: "weight" of a term must be a finite number, got ${describeValue(toPlain(w))}`,
        );
        return { refs: [] };
      }
      if (w) weight = w.value as number;
    }
    const inner = this.check(plugin, options, [...prefix.map(String), "options"], depth + 1);
    if (!inner.options) return { refs: inner.refs };
    const value: PluginSpec = {
      use: plugin.name,
      kind,
      version: plugin.version ?? "",
      options: inner.options,
    };
    return { value: weight === undefined ? value : { ...value, weight }, refs: inner.refs };
  }

  /** Reports one zod issue at its position, in kt's words. */
  issue(plugin: Plugin, schema: z.ZodType, source: SourceMap, issue: z.core.$ZodIssue): void {
    const path = issue.path;
    const where = locate(source, path, source.loc);
    const opt = `option "${path.join(".")}" of plugin "${plugin.name}"`;
    const subject = path.length === 0 ? `plugin "${plugin.name}"` : opt;
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = objectKeysAt(schema, path) ?? [];
        for (const key of issue.keys) {
          const loc = keyLocAt(source, path, key) ?? where;
          const shown = [...path, key].join(".");
          const close = closestNames(key, known);
          const tail = close.length > 0
            ? `did you mean "${[...path, close[0]].join(".")}"?`
            : known.length > 0
            ? `known: ${known.join(", ")}`
            : "it takes no options";
          this.problems.add(loc, `unknown option "${shown}" for plugin "${plugin.name}"; ${tail}`);
        }
        return;
      }
      case "invalid_type": {
        const expected = issue.expected === "int" ? "an integer" : issue.expected;
        if (issue.input === undefined) {
          this.problems.add(
            where,
            `missing option "${path.join(".")}" for plugin "${plugin.name}" (expected ${expected})`,
          );
        } else {
          this.problems.add(
            where,
            `${subject}: expected ${expected}, got ${describeValue(issue.input)}`,
          );
        }
        return;
      }
      case "too_small":
      case "too_big": {
        const small = issue.code === "too_small";
        const bound = small ? issue.minimum : issue.maximum;
        const op = issue.inclusive === false ? (small ? ">" : "<") : (small ? ">=" : "<=");
        const input = issue.input;
        let text: string;
        if (issue.origin === "array" || issue.origin === "set") {
          const n = Array.isArray(input) ? input.length : "?";
          text = `must have ${op} ${bound} items, got ${n}`;
        } else if (issue.origin === "string") {
          text = `must have ${op} ${bound} characters, got ${describeValue(input)}`;
        } else {
          text = `must be ${op} ${bound}, got ${String(input)}`;
        }
        this.problems.add(where, `${subject}: ${text}`);
        return;
      }
      case "invalid_value": {
        const input = issue.input;
        let text = `${subject}: expected one of ${quoteList(issue.values)}, got ${
          describeValue(input)
        }`;
        if (typeof input === "string") {
          const close = closestNames(input, issue.values.map(String));
          if (close.length > 0) text += `; did you mean "${close[0]}"?`;
        }
        this.problems.add(where, text);
        return;
      }
      case "invalid_union":
        this.problems.add(
          where,
          `${subject}: ${describeValue(issue.input)} matches none of the allowed forms`,
        );
        return;
      default:
        this.problems.add(where, `${subject}: ${issue.message}`);
    }
  }
}

/** True when a marker ({@linkcode ref} / {@linkcode pluginSpec}) sits somewhere in `schema`. */
function containsMarker(schema: z.ZodType, depth = 0): boolean {
  if (depth > 16) return false;
  if (markerOf(schema)) return true;
  const def = defOf(schema);
  const children: (z.ZodType | undefined | null)[] = [
    def.innerType,
    def.element,
    def.in,
    def.valueType,
    def.rest,
    ...(def.options ?? []),
    ...(def.items ?? []),
    ...Object.values(def.shape ?? {}),
  ];
  return children.some((c) => c && containsMarker(c, depth + 1));
}

/** The union member a source value belongs to: refs take strings, inline plugins take maps. */
function pickUnionOption(options: z.ZodType[], src: SourceValue): z.ZodType | undefined {
  const markerMatch = (o: z.ZodType): Marker | undefined => {
    let s = o;
    for (let i = 0; i < 8; i++) {
      const m = markerOf(s);
      if (m) return m;
      const def = defOf(s);
      if (!(WRAPPERS.has(def.type) || def.type === "default" || def.type === "prefault")) break;
      s = def.innerType!;
    }
    return undefined;
  };
  const isString = src.type === "scalar" && typeof src.value === "string";
  const ref = options.find((o) => {
    const m = markerMatch(o);
    return m && "ref" in m && isString;
  });
  if (ref) return ref;
  const spec = options.find((o) => {
    const m = markerMatch(o);
    return m && "spec" in m && (isString || src.type === "map");
  });
  if (spec) return spec;
  const plain = toPlain(src);
  return options.find((o) => o.safeParse(plain).success);
}

// ------------------------------------------------------------------ the graph

/** Looks up the plugin of a node: `use: name` (any kind, if unique) or `use: kind/name`. */
function nodePlugin(
  registry: Registry,
  name: string,
): { plugin?: Plugin; message?: string } {
  const slash = name.indexOf("/");
  if (slash > 0) {
    const kind = name.slice(0, slash);
    const base = name.slice(slash + 1);
    if (!(PLUGIN_KINDS as readonly string[]).includes(kind)) {
      return { message: unknownNameMessage("plugin kind", kind, PLUGIN_KINDS) };
    }
    const plugin = registry.find(kind as PluginKind, base);
    if (!plugin) {
      return { message: unknownPluginMessage(kind, base, registry.names(kind as PluginKind)) };
    }
    return { plugin };
  }
  const found = registry.findAny(name);
  if (found.length === 1) return { plugin: found[0] };
  if (found.length > 1) {
    const choices = found.map((p) => `${p.kind}/${p.name}`).join(" or ");
    return { message: `plugin name "${name}" is ambiguous; write use: ${choices}` };
  }
  return { message: unknownPluginMessage("plugin", name, registry.names()) };
}

/** `unknown loss "pkt2"; did you mean "pkt"?`, or says that no plugin of the kind exists. */
function unknownPluginMessage(kind: string, name: string, known: string[]): string {
  if (known.length === 0) return `unknown ${kind} "${name}"; no ${kind} plugins are registered`;
  return unknownNameMessage(kind, name, known);
}

/**
 * Validates the `nodes:` map of one trial (variables already substituted) and resolves it.
 * Problems go to `problems`; the graph is returned only when this trial has none.
 * `cache` (keyed by a node's source value) skips nodes already checked in another trial.
 */
export function validateGraph(
  nodes: SourceMap,
  registry: Registry,
  problems: Problems,
  cache: WeakMap<SourceValue, NodeCheck> = new WeakMap(),
): ResolvedGraph | undefined {
  const before = problems.list.length;
  const checked: { name: string; keyLoc: Loc; source: SourceValue; check: NodeCheck }[] = [];
  for (const entry of nodes.entries) {
    let check = cache.get(entry.value);
    if (!check) {
      check = checkNode(entry.key, entry.keyLoc, entry.value, registry, problems.file);
      cache.set(entry.value, check);
    }
    problems.list.push(...check.problems);
    checked.push({ name: entry.key, keyLoc: entry.keyLoc, source: entry.value, check });
  }
  const byName = new Map(checked.map((c) => [c.name, c]));
  const names = checked.map((c) => c.name);

  // References: the node exists and is of an accepted kind.
  for (const { check } of checked) {
    for (const r of check.refs) {
      const target = byName.get(r.node);
      if (!target) {
        const close = closestNames(r.node, names);
        const tail = close.length > 0
          ? `; did you mean "${close[0]}"?`
          : `; nodes: ${names.join(", ")}`;
        problems.add(r.loc, `${r.holder}: unknown node "${r.node}"${tail}`);
        continue;
      }
      const plugin = target.check.plugin;
      if (!plugin || r.accepts.length === 0) continue;
      const provides = [plugin.kind, ...(plugin.provides ?? [])];
      if (!r.accepts.some((a) => provides.includes(a))) {
        problems.add(
          r.loc,
          `${r.holder} must reference ${kindPhrase(r.accepts)}, but "${r.node}" is ${
            article(plugin.kind)
          } ${plugin.kind} ("${plugin.name}")`,
        );
      }
    }
  }

  // Cycles, then dependency order (depth-first post-order, file order for ties).
  const state = new Map<string, "active" | "done">();
  const order: string[] = [];
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, "active");
    stack.push(name);
    for (const r of byName.get(name)!.check.refs) {
      if (!byName.has(r.node)) continue;
      const s = state.get(r.node);
      if (s === "active") {
        const cycle = [...stack.slice(stack.indexOf(r.node)), r.node];
        problems.add(r.loc, `reference cycle: ${cycle.join(" -> ")}`);
      } else if (s === undefined) {
        visit(r.node);
      }
    }
    stack.pop();
    state.set(name, "done");
    order.push(name);
  };
  for (const name of names) if (!state.has(name)) visit(name);

  if (problems.list.length > before) return undefined;
  const resolved: Record<string, ResolvedNode> = {};
  for (const { name, keyLoc, source, check } of checked) {
    const plugin = check.plugin!;
    const refs = check.refs.map(({ option, node }) => ({ option, node }));
    resolved[name] = {
      name,
      use: plugin.name,
      kind: plugin.kind,
      version: plugin.version ?? "",
      plugin,
      options: check.options!,
      refs,
      inputs: [...new Set(refs.map((r) => r.node))],
      where: problems.where(keyLoc),
      loc: keyLoc,
      source,
    };
  }
  return { nodes: resolved, order };
}

/** The outcome of checking one node on its own (before references are resolved). */
export interface NodeCheck {
  plugin?: Plugin;
  options?: Record<string, unknown>;
  refs: PendingRef[];
  problems: Problem[];
}

function checkNode(
  name: string,
  keyLoc: Loc,
  value: SourceValue,
  registry: Registry,
  file: string,
): NodeCheck {
  const local = new Problems(file);
  const result: NodeCheck = { refs: [], problems: local.list };
  const done = () => result;
  if (!NODE_NAME.test(name)) {
    local.add(
      keyLoc,
      `node name ${
        JSON.stringify(name)
      } must start with a letter or "_" and hold only letters, digits, "_", "-"`,
    );
  } else if (name.length > MAX_NODE_NAME_LENGTH) {
    local.add(
      keyLoc,
      `node name "${
        name.slice(0, 20)
      }…" is ${name.length} characters long; at most ${MAX_NODE_NAME_LENGTH} are allowed`,
    );
  }
  if (value.type !== "map") {
    local.add(
      value.loc,
      `node "${name}" must be a map like { use: <plugin>, ...options }, got ${
        describeValue(toPlain(value))
      }`,
    );
    return done();
  }
  const use = entryOf(value, "use");
  if (!use) {
    local.add(value.loc, `node "${name}" has no "use:"; name its plugin, e.g. use: mnist`);
    return done();
  }
  if (use.value.type !== "scalar" || typeof use.value.value !== "string") {
    local.add(
      use.value.loc,
      `node "${name}": "use" must be a plugin name, got ${describeValue(toPlain(use.value))}`,
    );
    return done();
  }
  const found = nodePlugin(registry, use.value.value);
  if (!found.plugin) {
    local.add(use.value.loc, found.message!);
    return done();
  }
  const options: SourceMap = { ...value, entries: value.entries.filter((e) => e.key !== "use") };
  const localChecker = new OptionChecker(registry, local);
  const checked = localChecker.check(found.plugin, options, [], 0);
  result.plugin = found.plugin;
  result.options = checked.options;
  result.refs = checked.refs;
  return done();
}
