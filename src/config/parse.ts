/**
 * YAML → a tree of source values that remember where they came from (`line:col`), so every
 * later check (types, references, sweeps) can point at the exact spot in the user's file.
 * Syntax errors, duplicate keys, non-string keys and unknown tags are reported here.
 * @module
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseDocument,
} from "yaml";
import { KtError } from "../errors.ts";

/** A position in the YAML text: 1-based line and column, 0-based character offset. */
export interface Loc {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** 0-based character offset. */
  offset: number;
  /**
   * Set when the value came from a command-line override rather than the file: the argument as
   * typed (`student.epochs=3`); `line` is then 1 and `col` the column in that argument.
   */
  override?: string;
}

/** A scalar (string, number, boolean or null) with its position. */
export interface SourceScalar {
  /** Always `"scalar"`. */
  type: "scalar";
  /** The value as YAML parsed it. */
  value: string | number | boolean | null;
  /** Where it starts. */
  loc: Loc;
}

/** One `key: value` of a map; `keyLoc` is where the key starts. */
export interface SourceEntry {
  /** The key. */
  key: string;
  /** Where the key starts. */
  keyLoc: Loc;
  /** The value. */
  value: SourceValue;
}

/** A map with its entries in file order (duplicate keys already reported and dropped). */
export interface SourceMap {
  /** Always `"map"`. */
  type: "map";
  /** The entries. */
  entries: SourceEntry[];
  /** Where the map starts. */
  loc: Loc;
}

/** A sequence with its items in file order. */
export interface SourceSeq {
  /** Always `"seq"`. */
  type: "seq";
  /** The items. */
  items: SourceValue[];
  /** Where the sequence starts. */
  loc: Loc;
}

/** Any YAML value with positions kept at every depth. */
export type SourceValue = SourceScalar | SourceMap | SourceSeq;

/** One problem found in an experiment file. */
export interface Problem {
  /** The file as the user named it. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** What is wrong and, where possible, the close match or the allowed values. */
  message: string;
  /** The command-line override the problem is in (`student.epochs=0`), if not in the file. */
  override?: string;
}

/**
 * `file:line:col: message`, or `override "path=value" (col N): message` for a problem in a
 * command-line override.
 */
export function formatProblem(p: Problem): string {
  if (p.override !== undefined) {
    return `override ${JSON.stringify(p.override)} (col ${p.col}): ${p.message}`;
  }
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** The most problems a {@linkcode ConfigError} prints (it keeps them all in `problems`). */
export const MAX_PRINTED_PROBLEMS = 20;

/** The most values an experiment file may hold once its aliases are expanded. */
export const MAX_YAML_VALUES = 100_000;

/** The deepest an experiment file's values may nest. */
export const MAX_YAML_DEPTH = 64;

/**
 * Sorts problems by position (the file's first, then the overrides') and drops exact repeats (the
 * same problem found in many trials).
 */
export function sortProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return [...problems]
    .sort((a, b) =>
      Number(a.override !== undefined) - Number(b.override !== undefined) ||
      (a.override ?? "").localeCompare(b.override ?? "") ||
      a.line - b.line || a.col - b.col || a.message.localeCompare(b.message)
    )
    .filter((p) => {
      const key = formatProblem(p);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/**
 * Everything wrong with an experiment file, one `file:line:col: message` per line, sorted by
 * position. Thrown by `loadExperiment` before anything runs.
 */
export class ConfigError extends KtError {
  /** The problems, sorted by position. */
  readonly problems: Problem[];
  /** Sorts and de-duplicates `problems` into one message. */
  constructor(problems: Problem[]) {
    const sorted = sortProblems(problems);
    const n = sorted.length;
    const shown = sorted.slice(0, MAX_PRINTED_PROBLEMS).map(formatProblem);
    if (n > shown.length) shown.push(`… and ${n - shown.length} more (fix the ones above first)`);
    super(
      `${n} problem${n === 1 ? "" : "s"} in ${sorted[0]?.file ?? "experiment"}:\n` +
        shown.join("\n"),
      { hint: "`kt plugins` lists every plugin with its options" },
    );
    this.name = "ConfigError";
    this.problems = sorted;
  }

  /** The problems, one per line (the hint after them). */
  override format(): string {
    return `${this.message}\n(${this.hint})`;
  }
}

/** Collects problems for one file. */
export class Problems {
  readonly list: Problem[] = [];
  constructor(readonly file: string) {}
  /** Records `message` at `loc` (in the file, or in the override `loc` came from). */
  add(loc: Loc, message: string): void {
    const at = { file: this.file, line: loc.line, col: loc.col, message };
    this.list.push(loc.override === undefined ? at : { ...at, override: loc.override });
  }
  /** `file:line:col` of `loc` (or `override "…" col N`), for messages that point elsewhere. */
  where(loc: Loc): string {
    return loc.override === undefined
      ? `${this.file}:${loc.line}:${loc.col}`
      : `override ${JSON.stringify(loc.override)} col ${loc.col}`;
  }
}

/** Result of {@linkcode parseYaml}: the tree (absent when the text has syntax errors or is empty). */
export interface ParsedYaml {
  root?: SourceValue;
  problems: Problem[];
}

/**
 * Parses YAML text into a {@linkcode SourceValue} tree. Never throws for bad input: syntax errors,
 * duplicate keys, non-scalar keys and unknown tags come back as problems with their positions.
 *
 * @example
 * ```ts
 * import { parseYaml } from "./parse.ts";
 * const { root } = parseYaml("a: [1, 2]\n", "x.yaml");
 * // root.type === "map", root.entries[0].value.loc.line === 1
 * ```
 */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: false,
    keepSourceTokens: true,
    prettyErrors: false,
  });
  const problems = new Problems(file);
  const locAt = (offset: number): Loc => {
    const { line, col } = lines.linePos(offset);
    return { line, col, offset };
  };
  for (const e of [...doc.errors, ...doc.warnings]) {
    const message = e.message.replace(/ at line \d+, column \d+[\s\S]*$/, "");
    problems.add(locAt(e.pos[0]), `YAML syntax error: ${message}`);
  }
  if (doc.errors.length > 0) return { problems: problems.list };
  if (doc.contents === null) return { problems: problems.list };

  // Bounded work: aliases are expanded, so a few hundred bytes of nested aliases could
  // otherwise stand for billions of values.
  let values = 0;
  let outerAlias: YamlNode | undefined;
  const onPath = new Set<YamlNode>();
  const convert = (node: YamlNode, path: string[], depth: number): SourceValue => {
    const at = locAt(node.range?.[0] ?? 0);
    if (depth > MAX_YAML_DEPTH) {
      throw new TooLarge(
        outerAlias ? locAt(outerAlias.range?.[0] ?? 0) : at,
        `values nest deeper than ${MAX_YAML_DEPTH} levels${
          outerAlias ? " (through this alias)" : ""
        }; flatten the file`,
      );
    }
    if (++values > MAX_YAML_VALUES) {
      throw new TooLarge(
        outerAlias ? locAt(outerAlias.range?.[0] ?? 0) : at,
        outerAlias
          ? `expanding YAML aliases gives the file more than ${MAX_YAML_VALUES} values (reached in alias "*${
            (outerAlias as { source?: string }).source
          }"); write the values out or use fewer, smaller aliases`
          : `the file holds more than ${MAX_YAML_VALUES} values; an experiment needs far fewer`,
      );
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) {
        problems.add(at, `unknown YAML alias "*${node.source}"`);
        return { type: "scalar", value: null, loc: at };
      }
      if (onPath.has(target)) {
        throw new TooLarge(
          at,
          `the YAML alias "*${node.source}" is used inside the value it names (an endless loop); ` +
            `write the value out`,
        );
      }
      const outermost = outerAlias === undefined;
      if (outermost) outerAlias = node;
      try {
        return convert(target, path, depth + 1);
      } finally {
        if (outermost) outerAlias = undefined;
      }
    }
    if (isMap(node) || isSeq(node)) {
      onPath.add(node);
      try {
        return convertCollection(node, path, depth, at);
      } finally {
        onPath.delete(node);
      }
    }
    return convertCollection(node, path, depth, at);
  };
  const convertCollection = (
    node: YamlNode,
    path: string[],
    depth: number,
    loc: Loc,
  ): SourceValue => {
    if (isMap(node)) {
      const entries: SourceEntry[] = [];
      const first = new Map<string, Loc>();
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const keyLoc = locAt(keyNode?.range?.[0] ?? loc.offset);
        if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
          problems.add(keyLoc, "map keys must be plain names (strings or numbers)");
          continue;
        }
        const key = String(keyNode.value);
        const earlier = first.get(key);
        if (earlier) {
          const what = path.length === 1 && path[0] === "nodes"
            ? `duplicate node name "${key}"`
            : `duplicate key "${key}"`;
          problems.add(keyLoc, `${what} (first defined at ${earlier.line}:${earlier.col})`);
          continue;
        }
        first.set(key, keyLoc);
        const valueNode = pair.value as YamlNode | null;
        const value: SourceValue = valueNode === null
          ? { type: "scalar", value: null, loc: keyLoc }
          : convert(valueNode, [...path, key], depth + 1);
        entries.push({ key, keyLoc, value });
      }
      return { type: "map", entries, loc };
    }
    if (isSeq(node)) {
      const items = node.items.map((item, i) =>
        item === null
          ? { type: "scalar" as const, value: null, loc }
          : convert(item as YamlNode, [...path, String(i)], depth + 1)
      );
      return { type: "seq", items, loc };
    }
    if (isScalar(node)) {
      const v = node.value;
      if (
        v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean"
      ) {
        return { type: "scalar", value: v, loc };
      }
      if (typeof v === "bigint") return { type: "scalar", value: Number(v), loc };
      problems.add(loc, `unsupported YAML value (${node.tag ?? typeof v}); use plain data`);
      return { type: "scalar", value: null, loc };
    }
    problems.add(loc, "unsupported YAML node");
    return { type: "scalar", value: null, loc };
  };
  try {
    const root = convert(doc.contents as YamlNode, [], 0);
    return { root, problems: problems.list };
  } catch (e) {
    if (!(e instanceof TooLarge)) throw e;
    problems.add(e.loc, e.message);
    return { problems: problems.list };
  }
}

/** Thrown inside {@linkcode parseYaml} when the file is too large or deep to expand. */
class TooLarge {
  constructor(readonly loc: Loc, readonly message: string) {}
}

/** The plain JS value of a source tree (maps → objects, seqs → arrays). */
export function toPlain(v: SourceValue): unknown {
  switch (v.type) {
    case "scalar":
      return v.value;
    case "seq":
      return v.items.map(toPlain);
    case "map": {
      const out: Record<string, unknown> = {};
      for (const e of v.entries) out[e.key] = toPlain(e.value);
      return out;
    }
  }
}

/** A source value built from plain data (a schema default, a random draw), placed at `loc`. */
export function fromPlain(value: unknown, loc: Loc): SourceValue {
  if (Array.isArray(value)) return { type: "seq", items: value.map((v) => fromPlain(v, loc)), loc };
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).map(([key, v]) => ({
      key,
      keyLoc: loc,
      value: fromPlain(v, loc),
    }));
    return { type: "map", entries, loc };
  }
  const scalar = typeof value === "string" || typeof value === "number" ||
      typeof value === "boolean"
    ? value
    : null;
  return { type: "scalar", value: scalar, loc };
}

/** The entry `key` of a map, if any. */
export function entryOf(map: SourceMap, key: string): SourceEntry | undefined {
  return map.entries.find((e) => e.key === key);
}

/** A short description of a value's type for messages: `string "ten"`, `a map`, `a list`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}
