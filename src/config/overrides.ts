/**
 * Command-line overrides (Hydra's `key=value`): `deno task sweep exp.yaml student.epochs=3
 * 'sweep.seeds=[0,1]'` changes the experiment before it is validated, so every check applies to
 * the new values and its message points at the override (`override "student.epochs=0" (col 16):
 * ...`) instead of the file.
 *
 * - `<path>=<value>`: the path is dot-separated from the top level of the file (`sweep.seeds`,
 *   `backend`, `nodes.student.lr`); a path that starts with a node's name is under `nodes`
 *   (`student.lr` = `nodes.student.lr`). A key that holds dots (`sweep.grid.student.epochs`) is
 *   matched whole; a number steps into a list (`student.model.filters.0=16`).
 * - The value is YAML: `3` is a number, `pkt` a string, `[0, 1]` a list,
 *   `{use: pkt, kernel: rbf}` a map, nothing is `null`. Missing keys are added (the schema then
 *   says whether the option exists); a plugin named by a string (`loss: pkt`) takes options
 *   (`student.loss.kernel=rbf` gives `loss: {use: pkt, kernel: rbf}`).
 * - An override of an option that a sweep axis also sets is an error: the axis would replace it
 *   in every trial; override the axis instead.
 *
 * ```ts
 * import { applyOverrides } from "./overrides.ts";
 * import { parseYaml, Problems, toPlain, type SourceMap } from "./parse.ts";
 * const root = parseYaml("name: x\nnodes:\n  student: { use: transfer, epochs: 5 }\n", "x.yaml")
 *   .root as SourceMap;
 * const problems = new Problems("x.yaml");
 * const changed = applyOverrides(root, ["student.epochs=3"], problems, ["name", "nodes"]);
 * toPlain(changed.root); // { name: "x", nodes: { student: { use: "transfer", epochs: 3 } } }
 * ```
 * @module
 */
import { closestNames } from "../errors.ts";
import {
  describeValue,
  type Loc,
  parseYaml,
  type Problems,
  type SourceEntry,
  type SourceMap,
  type SourceValue,
  toPlain,
} from "./parse.ts";

/** One `path=value` argument, parsed. */
export interface Override {
  /** The argument as typed. */
  text: string;
  /** The path from the file's top level (`nodes` added for a node's name). */
  path: string[];
  /** Where each path segment starts in `text` (1-based columns), parallel to `path`. */
  cols: number[];
  value: SourceValue;
  /** Where the override starts (column 1 of the argument). */
  loc: Loc;
  /** The path named a node without `nodes.` (`student.lr`). */
  nodes: boolean;
}

/**
 * Applies `overrides` to the parsed file `root`, in order (a later one wins). Problems are
 * added at the override; a broken override is skipped. `topLevel` lists the file's top-level
 * keys (a path starting with one of them is from the top; otherwise it names a node). Returns the
 * changed file and the overrides that applied.
 */
export function applyOverrides(
  root: SourceMap,
  overrides: readonly string[],
  problems: Problems,
  topLevel: readonly string[],
): { root: SourceMap; applied: Override[] } {
  let out = root;
  const applied: Override[] = [];
  for (const text of overrides) {
    const o = parseOverride(text, problems, out, topLevel);
    if (!o) continue;
    const set = setIn(out, o.path, o.value, (i) => ({ ...o.loc, col: o.cols[i] }), 0);
    if (typeof set === "number") {
      const prefix = o.path.slice(0, set);
      const shown = (o.nodes ? prefix.slice(1) : prefix).join(".");
      problems.add(
        { ...o.loc, col: o.cols[set] },
        `"${shown}" is ${describeValue(toPlain(valueAt(out, prefix)!))}, not a map of options, ` +
          `so it has no "${o.path[set]}"; set "${shown}" itself, e.g. ${shown}={...}`,
      );
      continue;
    }
    out = set as SourceMap;
    applied.push(o);
  }
  return { root: out, applied };
}

/**
 * Parses one `path=value` argument against the file's `root` (to tell node names from top-level
 * keys); `undefined` (with a problem added) when it cannot be read.
 */
export function parseOverride(
  text: string,
  problems: Problems,
  root: SourceMap,
  topLevel: readonly string[],
): Override | undefined {
  const loc: Loc = { line: 1, col: 1, offset: 0, override: text };
  const eq = text.indexOf("=");
  const pathText = eq < 0 ? text : text.slice(0, eq);
  const segments = pathText.split(".");
  if (eq < 0 || segments.some((s) => s.trim() === "" || s !== s.trim())) {
    problems.add(
      loc,
      eq < 0
        ? `expected <path>=<value> after the experiment file, e.g. student.epochs=3`
        : `"${pathText}" is not an option path: names joined by dots, e.g. student.epochs=3`,
    );
    return undefined;
  }
  const cols: number[] = [];
  let col = 1;
  for (const s of segments) {
    cols.push(col);
    col += s.length + 1;
  }
  const nodes = root.entries.find((e) => e.key === "nodes")?.value;
  const nodeNames = nodes?.type === "map" ? nodes.entries.map((e) => e.key) : [];
  const [head] = segments;
  let path = segments;
  if (!topLevel.includes(head)) {
    if (!nodeNames.includes(head)) {
      const close = closestNames(head, [...nodeNames, ...topLevel]);
      problems.add(
        loc,
        `"${head}" is neither a node of the experiment nor a top-level key; ${
          close.length > 0 ? `did you mean "${close[0]}"?` : `nodes: ${nodeNames.join(", ")}`
        }`,
      );
      return undefined;
    }
    path = ["nodes", ...segments];
    cols.unshift(1);
  }
  const value = parseValue(text.slice(eq + 1), eq + 2, text, problems);
  if (!value) return undefined;
  return { text, path, cols, value, loc, nodes: path !== segments };
}

/** The YAML value of an override, its locations moved into the argument (column `col` on). */
function parseValue(
  yaml: string,
  col: number,
  text: string,
  problems: Problems,
): SourceValue | undefined {
  const parsed = parseYaml(yaml, "override");
  const at = (l: { line: number; col: number; offset: number }): Loc => ({
    line: 1,
    col: l.line === 1 ? col + l.col - 1 : col + l.offset,
    offset: col - 1 + l.offset,
    override: text,
  });
  if (parsed.problems.length > 0) {
    for (const p of parsed.problems) {
      problems.add(at({ line: p.line, col: p.col, offset: p.col - 1 }), p.message);
    }
    return undefined;
  }
  if (!parsed.root) return { type: "scalar", value: null, loc: at({ line: 1, col: 1, offset: 0 }) };
  const move = (v: SourceValue): SourceValue => {
    switch (v.type) {
      case "scalar":
        return { ...v, loc: at(v.loc) };
      case "seq":
        return { ...v, loc: at(v.loc), items: v.items.map(move) };
      case "map":
        return {
          ...v,
          loc: at(v.loc),
          entries: v.entries.map((e) => ({ ...e, keyLoc: at(e.keyLoc), value: move(e.value) })),
        };
    }
  };
  return move(parsed.root);
}

/** The key of `map` that the path starting at `i` names: the longest run of segments. */
function keyAt(map: SourceMap, path: readonly string[], i: number): number {
  for (let j = path.length; j > i + 1; j--) {
    if (map.entries.some((e) => e.key === path.slice(i, j).join("."))) return j;
  }
  return i + 1;
}

/** The value at `path` of `root`, if it exists. */
function valueAt(root: SourceValue, path: readonly string[]): SourceValue | undefined {
  let cur: SourceValue | undefined = root;
  for (let i = 0; i < path.length && cur; i++) {
    if (cur.type === "map") {
      const end = keyAt(cur, path, i);
      const key = path.slice(i, end).join(".");
      i = end - 1;
      cur = cur.entries.find((e) => e.key === key)?.value;
    } else if (cur.type === "seq" && /^\d+$/.test(path[i])) cur = cur.items[Number(path[i])];
    else return undefined;
  }
  return cur;
}

/**
 * `value` set at `path[i…]` in `v` (missing map keys added, a plugin string promoted to
 * `{ use }`), or the index of the segment that could not be entered.
 */
function setIn(
  v: SourceValue,
  path: readonly string[],
  value: SourceValue,
  locOf: (segment: number) => Loc,
  i: number,
): SourceValue | number {
  if (i === path.length) return value;
  if (v.type === "scalar" && typeof v.value === "string" && i > 1) {
    // `loss: pkt` taking options: `{ use: pkt, ... }`.
    const use: SourceEntry = { key: "use", keyLoc: v.loc, value: v };
    v = { type: "map", entries: [use], loc: v.loc };
  }
  if (v.type === "seq") {
    const n = /^\d+$/.test(path[i]) ? Number(path[i]) : -1;
    if (n < 0 || n >= v.items.length) return i;
    const child = setIn(v.items[n], path, value, locOf, i + 1);
    if (typeof child === "number") return child;
    const items = [...v.items];
    items[n] = child;
    return { ...v, items };
  }
  if (v.type !== "map") return i;
  const end = keyAt(v, path, i);
  const key = path.slice(i, end).join(".");
  const at = v.entries.findIndex((e) => e.key === key);
  const existing: SourceValue = at >= 0
    ? v.entries[at].value
    : { type: "map", entries: [], loc: locOf(i) };
  const child = setIn(existing, path, value, locOf, end);
  if (typeof child === "number") return child;
  const entries = [...v.entries];
  if (at >= 0) entries[at] = { ...entries[at], value: child };
  else entries.push({ key, keyLoc: locOf(i), value: child });
  return { ...v, entries };
}

/** A sweep axis as {@linkcode checkSweptOverrides} needs it. */
export interface AxisPath {
  /** The option path (`student.epochs`) of an axis that sets one. */
  name: string;
  target: "variable" | "path";
  loc: Loc;
}

/**
 * Overrides of options that a sweep axis also sets: the axis would replace them in every trial,
 * so each is an error at the override, naming the axis.
 */
export function checkSweptOverrides(
  overrides: readonly Override[],
  axes: readonly AxisPath[],
  problems: Problems,
  file: string,
): void {
  for (const o of overrides) {
    if (o.path[0] !== "nodes") continue;
    const path = o.path.slice(1).join(".");
    for (const axis of axes) {
      if (axis.target !== "path") continue;
      if (path !== axis.name && !path.startsWith(`${axis.name}.`)) continue;
      problems.add(
        o.loc,
        `"${path}" is swept (axis "${axis.name}" at ${file}:${axis.loc.line}:${axis.loc.col}), ` +
          `so the axis would replace this value in every trial; override the axis instead, ` +
          `e.g. 'sweep.grid.${axis.name}=[${displayShort(toPlain(o.value))}]'`,
      );
    }
  }
}

function displayShort(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}
