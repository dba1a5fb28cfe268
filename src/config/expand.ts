/**
 * Sweeps: grid, random and seed axes over `${variables}` or option paths (`student.epochs`),
 * expanded into trials whose graphs are validated and resolved one by one.
 *
 * ```yaml
 * sweep:
 *   grid: { method: [pkt, hinton], "student.epochs": [5, 10] }
 *   random: { count: 4, seed: 0, space: { "student.loss.temperature": { uniform: [1, 8] } } }
 *   seeds: [0, 1, 2]
 * ```
 * @module
 */
import { canonicalJson, displayValue, type JsonValue } from "../canonical.ts";
import { closestNames } from "../errors.ts";
import { sha256Hex } from "../hash.ts";
import { createRng } from "../rng.ts";
import type { Registry } from "../registry.ts";
import {
  describeValue,
  entryOf,
  fromPlain,
  type Loc,
  Problems,
  type SourceEntry,
  type SourceMap,
  type SourceScalar,
  type SourceValue,
  toPlain,
} from "./parse.ts";
import { type NodeCheck, type ResolvedGraph, validateGraph } from "./validate.ts";

/** One trial: a point of the sweep with its own validated graph. */
export interface Trial {
  /** Short stable id: a hash of `params` and `seed` (12 hex digits). */
  id: string;
  /** Human label, e.g. `method=pkt student.epochs=5 seed=1`. */
  label: string;
  /** Axis name → value (variables by name, option paths as `node.option`), seeds excluded. */
  params: Record<string, unknown>;
  /** The trial seed (from `seeds:`, else the experiment's `seed`, else 0). */
  seed: number;
  /** The validated graph of this trial (variables substituted, option paths set). */
  graph: ResolvedGraph;
}

/** A distribution of a random-search axis. */
export type Distribution =
  | { uniform: [number, number] }
  | { loguniform: [number, number] }
  | { int: [number, number] }
  | { choice: unknown[] };

/** One sweep axis as written. */
export interface SweepAxis {
  /** A variable name (`method`) or an option path (`student.epochs`). */
  name: string;
  /** `variable` when used as `${name}`; `path` for `node.option...`. */
  target: "variable" | "path";
  /** Where the axis name is written. */
  loc: Loc;
}

/** A grid axis: every value is tried. */
export interface GridAxis extends SweepAxis {
  /** The values, in file order, with their positions. */
  values: SourceValue[];
}

/** A random axis: values drawn from a distribution. */
export interface RandomAxis extends SweepAxis {
  /** What values are drawn from. */
  distribution: Distribution;
  /** Where each choice is written (for `choice`), else the distribution's position. */
  valueLocs: Loc[];
  /** Where the distribution is written. */
  distLoc: Loc;
}

/** The parsed `sweep:` section. */
export interface SweepSpec {
  /** Grid axes, first axis outermost. */
  grid: GridAxis[];
  /** Random search: `count` points drawn with `seed` over `axes`. */
  random?: { count: number; seed: number; axes: RandomAxis[] };
  /** Trial seeds; absent = the experiment's seed only. */
  seeds?: number[];
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables every trial defines. */
export const BUILTIN_VARIABLES = ["seed"] as const;
/** Largest number of trials a sweep may expand to. */
export const MAX_TRIALS = 100_000;

function axisTarget(name: string, loc: Loc, problems: Problems): SweepAxis | undefined {
  if (name === "seed") {
    problems.add(loc, `sweep axis "seed": sweep seeds with "seeds: [0, 1, 2]"`);
    return undefined;
  }
  if (VARIABLE.test(name)) return { name, target: "variable", loc };
  const parts = name.split(".");
  if (parts.length >= 2 && parts.every((p) => p.length > 0)) return { name, target: "path", loc };
  problems.add(
    loc,
    `sweep axis "${name}" is neither a variable name (used as \${name}) nor an option path like "student.epochs"`,
  );
  return undefined;
}

function isNumber(v: SourceValue): v is SourceScalar & { value: number } {
  return v.type === "scalar" && typeof v.value === "number" && Number.isFinite(v.value);
}

function mapOrProblem(v: SourceValue, what: string, problems: Problems): SourceMap | undefined {
  if (v.type === "map") return v;
  problems.add(v.loc, `${what} must be a map, got ${describeValue(toPlain(v))}`);
  return undefined;
}

function unknownKey(e: SourceEntry, where: string, known: string[], problems: Problems): void {
  const close = closestNames(e.key, known);
  const tail = close.length > 0 ? `did you mean "${close[0]}"?` : `known: ${known.join(", ")}`;
  problems.add(e.keyLoc, `unknown key "${e.key}" in ${where}; ${tail}`);
}

function integerOrProblem(v: SourceValue, what: string, min: number, problems: Problems) {
  if (isNumber(v) && Number.isInteger(v.value) && v.value >= min) return v.value;
  problems.add(v.loc, `${what} must be an integer >= ${min}, got ${describeValue(toPlain(v))}`);
  return undefined;
}

/**
 * Parses the `sweep:` section (absent = one trial). Problems go to `problems`.
 */
export function parseSweep(src: SourceValue | undefined, problems: Problems): SweepSpec {
  const spec: SweepSpec = { grid: [] };
  if (src === undefined || (src.type === "scalar" && src.value === null)) return spec;
  const map = mapOrProblem(src, "sweep", problems);
  if (!map) return spec;
  const seen = new Map<string, Loc>();
  const claim = (axis: SweepAxis) => {
    const earlier = seen.get(axis.name);
    if (earlier) {
      problems.add(
        axis.loc,
        `sweep axis "${axis.name}" is defined twice (first at ${earlier.line}:${earlier.col})`,
      );
      return false;
    }
    seen.set(axis.name, axis.loc);
    return true;
  };
  for (const e of map.entries) {
    if (e.key === "grid") {
      const grid = mapOrProblem(e.value, "sweep.grid", problems);
      for (const a of grid?.entries ?? []) {
        const axis = axisTarget(a.key, a.keyLoc, problems);
        if (!axis) continue;
        if (a.value.type !== "seq") {
          problems.add(
            a.value.loc,
            `sweep axis "${a.key}" needs a list of values, got ${describeValue(toPlain(a.value))}`,
          );
          continue;
        }
        if (a.value.items.length === 0) {
          problems.add(a.value.loc, `sweep axis "${a.key}" has no values`);
          continue;
        }
        if (!distinctValues(a.key, a.value.items, problems)) continue;
        if (claim(axis)) spec.grid.push({ ...axis, values: a.value.items });
      }
    } else if (e.key === "random") {
      const random = mapOrProblem(e.value, "sweep.random", problems);
      if (!random) continue;
      let count: number | undefined;
      let seed = 0;
      const axes: RandomAxis[] = [];
      let sawSpace = false;
      for (const r of random.entries) {
        if (r.key === "count") count = integerOrProblem(r.value, "sweep.random.count", 1, problems);
        else if (r.key === "seed") {
          seed = integerOrProblem(r.value, "sweep.random.seed", 0, problems) ?? 0;
        } else if (r.key === "space") {
          sawSpace = true;
          const space = mapOrProblem(r.value, "sweep.random.space", problems);
          for (const a of space?.entries ?? []) {
            const axis = axisTarget(a.key, a.keyLoc, problems);
            const dist = parseDistribution(a.key, a.value, problems);
            if (axis && dist && claim(axis)) axes.push({ ...axis, ...dist });
          }
        } else unknownKey(r, "sweep.random", ["count", "seed", "space"], problems);
      }
      if (!entryOf(random, "count")) {
        problems.add(random.loc, `sweep.random needs "count": how many random points to draw`);
      }
      if (!sawSpace) {
        problems.add(random.loc, `sweep.random needs "space": axis → distribution`);
      } else if (axes.length === 0 && count !== undefined) {
        const space = entryOf(random, "space")!;
        if (space.value.type === "map" && space.value.entries.length === 0) {
          problems.add(space.value.loc, "sweep.random.space has no axes");
        }
      }
      if (count !== undefined) spec.random = { count, seed, axes };
    } else if (e.key === "seeds") {
      if (e.value.type !== "seq" || e.value.items.length === 0) {
        problems.add(e.value.loc, `sweep.seeds must be a non-empty list of integers`);
        continue;
      }
      const seeds: number[] = [];
      for (const item of e.value.items) {
        const s = integerOrProblem(item, "a seed", 0, problems);
        if (s === undefined) continue;
        if (seeds.includes(s)) problems.add(item.loc, `seed ${s} is listed twice`);
        else seeds.push(s);
      }
      spec.seeds = seeds;
    } else unknownKey(e, "sweep", ["grid", "random", "seeds"], problems);
  }
  return spec;
}

/**
 * Whether the values of grid axis `name` make distinct trials: no value twice, and no two that
 * print alike in trial labels (numbers to 4 significant digits, `pkt` and `{ use: pkt }`).
 * Collisions are reported at the later value.
 */
function distinctValues(name: string, values: SourceValue[], problems: Problems): boolean {
  const exact = new Map<string, Loc>();
  const shown = new Map<string, { loc: Loc; text: string }>();
  let ok = true;
  for (const v of values) {
    const plain = toPlain(v);
    const key = canonicalJson(plain);
    const label = displayValue(plain);
    const same = exact.get(key);
    const alike = shown.get(label);
    if (same) {
      problems.add(
        v.loc,
        `sweep axis "${name}" lists ${label} twice (first at ${same.line}:${same.col}); ` +
          `each value makes its own trials, so list it once`,
      );
      ok = false;
    } else if (alike) {
      problems.add(
        v.loc,
        `sweep axis "${name}": ${key} shows as "${label}" in trial labels, like ${alike.text} at ` +
          `${alike.loc.line}:${alike.loc.col}; ` +
          (typeof plain === "number"
            ? "give values that differ in their first 4 significant digits (or drop one)"
            : "list it once, written one way"),
      );
      ok = false;
    } else {
      exact.set(key, v.loc);
      shown.set(label, { loc: v.loc, text: key });
    }
  }
  return ok;
}

function parseDistribution(
  name: string,
  v: SourceValue,
  problems: Problems,
): Pick<RandomAxis, "distribution" | "valueLocs" | "distLoc"> | undefined {
  const forms =
    "{ uniform: [lo, hi] }, { loguniform: [lo, hi] }, { int: [lo, hi] } or { choice: [...] }";
  if (v.type !== "map" || v.entries.length !== 1) {
    problems.add(v.loc, `random axis "${name}" needs one of ${forms}`);
    return undefined;
  }
  const [{ key, keyLoc, value }] = v.entries;
  if (key === "choice") {
    if (value.type !== "seq" || value.items.length === 0) {
      problems.add(value.loc, `random axis "${name}": choice needs a non-empty list`);
      return undefined;
    }
    return {
      distribution: { choice: value.items.map(toPlain) },
      valueLocs: value.items.map((i) => i.loc),
      distLoc: value.loc,
    };
  }
  if (key !== "uniform" && key !== "loguniform" && key !== "int") {
    const close = closestNames(key, ["uniform", "loguniform", "int", "choice"]);
    const tail = close.length > 0 ? `did you mean "${close[0]}"?` : `use ${forms}`;
    problems.add(keyLoc, `random axis "${name}": unknown distribution "${key}"; ${tail}`);
    return undefined;
  }
  if (value.type !== "seq" || value.items.length !== 2 || !value.items.every(isNumber)) {
    problems.add(value.loc, `random axis "${name}": ${key} needs [low, high] (two numbers)`);
    return undefined;
  }
  const lo = value.items[0].value as number;
  const hi = value.items[1].value as number;
  if (!(lo < hi) || (key === "int" && !(Number.isInteger(lo) && Number.isInteger(hi)))) {
    problems.add(
      value.loc,
      `random axis "${name}": ${key} needs low < high${key === "int" ? " (integers)" : ""}`,
    );
    return undefined;
  }
  if (key === "loguniform" && lo <= 0) {
    problems.add(value.loc, `random axis "${name}": loguniform needs low > 0`);
    return undefined;
  }
  const range: [number, number] = [lo, hi];
  const distribution: Distribution = key === "uniform"
    ? { uniform: range }
    : key === "loguniform"
    ? { loguniform: range }
    : { int: range };
  return { distribution, valueLocs: [value.loc], distLoc: value.loc };
}

// ------------------------------------------------------------------ ${variables}

const INTERPOLATION = /\$\$\{|\$\{([^}]*)\}/g;

/** A `${name}` use in a node option. */
interface VariableUse {
  name: string;
  loc: Loc;
}

/** Every `${name}` used in string values of `v` (malformed ones reported). */
export function findVariables(v: SourceValue, problems: Problems): VariableUse[] {
  const uses: VariableUse[] = [];
  const visit = (x: SourceValue) => {
    if (x.type === "map") x.entries.forEach((e) => visit(e.value));
    else if (x.type === "seq") x.items.forEach(visit);
    else if (typeof x.value === "string") {
      for (const m of x.value.matchAll(INTERPOLATION)) {
        if (m[0] === "$${") continue;
        const name = m[1].trim();
        if (!VARIABLE.test(name)) {
          problems.add(x.loc, `bad variable "\${${m[1]}}": use \${name} with a sweep axis name`);
        } else uses.push({ name, loc: x.loc });
      }
      const rest = x.value.replace(INTERPOLATION, "");
      if (rest.includes("${")) problems.add(x.loc, `unclosed "\${" in ${JSON.stringify(x.value)}`);
    }
  };
  visit(v);
  return uses;
}

/**
 * Replaces `${name}` in string values. A string that is exactly `${name}` becomes the variable's
 * value (any type, keeping the position where the value was written); inside a longer string the
 * value is written as text. `$${` stays a literal `${`. Unchanged subtrees are returned as is.
 */
export function substitute(
  v: SourceValue,
  vars: ReadonlyMap<string, SourceValue>,
  problems: Problems,
): SourceValue {
  if (v.type === "map") {
    let changed = false;
    const entries = v.entries.map((e) => {
      const value = substitute(e.value, vars, problems);
      if (value !== e.value) changed = true;
      return value === e.value ? e : { ...e, value };
    });
    return changed ? { ...v, entries } : v;
  }
  if (v.type === "seq") {
    let changed = false;
    const items = v.items.map((i) => {
      const value = substitute(i, vars, problems);
      if (value !== i) changed = true;
      return value;
    });
    return changed ? { ...v, items } : v;
  }
  if (typeof v.value !== "string" || !v.value.includes("${")) return v;
  const whole = /^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$/.exec(v.value);
  if (whole) return vars.get(whole[1]) ?? v;
  const text = v.value.replace(INTERPOLATION, (m, name: string) => {
    if (m === "$${") return "${";
    const value = vars.get(name.trim());
    if (!value) return m;
    if (value.type !== "scalar") {
      problems.add(v.loc, `cannot write ${describeValue(toPlain(value))} into a string ("${m}")`);
      return m;
    }
    return String(value.value);
  });
  return { ...v, value: text };
}

// ------------------------------------------------------------------ option-path overrides

/**
 * Sets `path` (node, option, sub-option...) in `nodes` to `value`, returning a new map (inputs
 * untouched). Missing keys are created at `axisLoc`; a string on the way (the shorthand
 * `loss: pkt`) becomes `{ use: pkt }`.
 */
function setOption(
  map: SourceMap,
  path: string[],
  value: SourceValue,
  axisLoc: Loc,
): SourceMap | string {
  const [head, ...rest] = path;
  const i = map.entries.findIndex((e) => e.key === head);
  const entries = [...map.entries];
  if (rest.length === 0) {
    if (i >= 0) entries[i] = { ...entries[i], value };
    else entries.push({ key: head, keyLoc: axisLoc, value });
    return { ...map, entries };
  }
  let child: SourceValue;
  if (i < 0) child = { type: "map", entries: [], loc: axisLoc };
  else child = map.entries[i].value;
  if (child.type === "scalar" && typeof child.value === "string") {
    const use: SourceEntry = { key: "use", keyLoc: child.loc, value: child };
    child = { type: "map", entries: [use], loc: child.loc };
  }
  if (child.type !== "map") return head;
  const next = setOption(child, rest, value, axisLoc);
  if (typeof next === "string") return `${head}.${next}`;
  if (i >= 0) entries[i] = { ...entries[i], value: next };
  else entries.push({ key: head, keyLoc: axisLoc, value: next });
  return { ...map, entries };
}

// ------------------------------------------------------------------ trials

interface Assignment {
  axis: SweepAxis;
  value: SourceValue;
}

/** Formats a parameter value for a trial label. */
/** A trial's human label: `method=pkt student.epochs=5 seed=1`. */
export function trialLabel(params: Record<string, unknown>, seed: number): string {
  return [...Object.entries(params).map(([k, v]) => `${k}=${displayValue(v)}`), `seed=${seed}`]
    .join(" ");
}

/**
 * A trial's resolved config as the results database records it: each node, in graph order, as
 * `{ use, ...options }`.
 */
export function trialConfig(trial: Pick<Trial, "graph">): JsonValue {
  const { order, nodes } = trial.graph;
  return Object.fromEntries(
    order.map((n) => [n, { use: nodes[n].use, ...nodes[n].options }]),
  ) as JsonValue;
}

/** A trial's id: the first 12 hex digits of SHA-256 over canonical `{ params, seed }`. */
export function trialId(params: Record<string, unknown>, seed: number): string {
  return sha256Hex(canonicalJson({ params, seed })).slice(0, 12);
}

function drawRandom(spec: NonNullable<SweepSpec["random"]>): Assignment[][] {
  const rng = createRng(spec.seed);
  const points: Assignment[][] = [];
  for (let i = 0; i < spec.count; i++) {
    points.push(spec.axes.map((axis) => {
      const d = axis.distribution;
      let value: unknown;
      let loc = axis.distLoc;
      if ("uniform" in d) value = d.uniform[0] + rng.next() * (d.uniform[1] - d.uniform[0]);
      else if ("loguniform" in d) {
        const [lo, hi] = d.loguniform.map(Math.log);
        value = Math.exp(lo + rng.next() * (hi - lo));
      } else if ("int" in d) value = d.int[0] + rng.int(d.int[1] - d.int[0] + 1);
      else {
        const k = rng.int(d.choice.length);
        value = d.choice[k];
        loc = axis.valueLocs[k];
      }
      return { axis, value: fromPlain(value, loc) };
    }));
  }
  return points;
}

/**
 * Expands `sweep` over `nodes` into trials (grid × random points × seeds, seeds innermost) and
 * validates each trial's graph. Problems (unknown or unused variables, bad axis paths, and
 * every graph problem of any trial) go to `problems`; trials come back only when there are none.
 */
export function expandTrials(
  nodes: SourceMap,
  sweep: SweepSpec,
  registry: Registry,
  problems: Problems,
  defaultSeed = 0,
): Trial[] {
  const before = problems.list.length;
  const axes: SweepAxis[] = [...sweep.grid, ...(sweep.random?.axes ?? [])];
  const variables = new Set(axes.filter((a) => a.target === "variable").map((a) => a.name));
  const known = [...variables, ...BUILTIN_VARIABLES];

  // Variables: every use is defined, every variable axis is used. Strings with an undefined
  // variable are reported once here, not again by the graph check ("unknown loss ${x}").
  const uses = findVariables(nodes, problems);
  const poisoned = new Set<string>();
  for (const use of uses) {
    if (known.includes(use.name)) continue;
    poisoned.add(`${use.loc.override ?? ""}:${use.loc.line}:${use.loc.col}`);
    const close = closestNames(use.name, known);
    const tail = close.length > 0
      ? `did you mean "\${${close[0]}}"?`
      : variables.size > 0
      ? `sweep variables: ${[...variables].join(", ")}`
      : "define it as a sweep axis, e.g. sweep: { grid: { name: [a, b] } }";
    problems.add(use.loc, `undefined variable "\${${use.name}}"; ${tail}`);
  }
  const used = new Set(uses.map((u) => u.name));
  const badAxes = new Set<SweepAxis>();
  for (const axis of axes) {
    if (axis.target === "variable" && !used.has(axis.name)) {
      problems.add(
        axis.loc,
        `sweep variable "${axis.name}" is not used by any node; write \${${axis.name}} in an option, or sweep an option path like "student.epochs"`,
      );
    }
    if (axis.target === "path") {
      const node = axis.name.split(".")[0];
      if (!entryOf(nodes, node)) {
        const close = closestNames(node, nodes.entries.map((e) => e.key));
        const tail = close.length > 0 ? `; did you mean "${close[0]}"?` : "";
        problems.add(axis.loc, `sweep axis "${axis.name}": unknown node "${node}"${tail}`);
        badAxes.add(axis);
      }
    }
  }

  // The points: grid (first axis outermost) × random draws × seeds.
  let points: Assignment[][] = [[]];
  for (const axis of sweep.grid) {
    points = points.flatMap((p) => axis.values.map((value) => [...p, { axis, value }]));
  }
  if (sweep.random) {
    const draws = drawRandom(sweep.random);
    points = points.flatMap((p) => draws.map((d) => [...p, ...d]));
  }
  const seeds = sweep.seeds ?? [defaultSeed];
  const total = points.length * seeds.length;
  if (total > MAX_TRIALS) {
    const first = axes[0]?.loc ?? nodes.loc;
    problems.add(first, `the sweep expands to ${total} trials; at most ${MAX_TRIALS} are allowed`);
    return [];
  }

  const trials: Trial[] = [];
  const cache = new WeakMap<SourceValue, NodeCheck>();
  const sink = new Problems(problems.file);
  const seedLoc = nodes.loc;
  for (const point of points) {
    const params: Record<string, unknown> = {};
    for (const { axis, value } of point) params[axis.name] = toPlain(value);
    for (const seed of seeds) {
      const vars = new Map<string, SourceValue>();
      vars.set("seed", { type: "scalar", value: seed, loc: seedLoc });
      for (const { axis, value } of point) {
        if (axis.target === "variable") vars.set(axis.name, value);
      }
      let graphSource = substitute(nodes, vars, problems) as SourceMap;
      for (const { axis, value } of point) {
        if (axis.target !== "path" || badAxes.has(axis)) continue;
        const set = setOption(graphSource, axis.name.split("."), value, axis.loc);
        if (typeof set === "string") {
          problems.add(
            axis.loc,
            `sweep axis "${axis.name}": "${set}" is not a map of options, so it has no "${
              axis.name.slice(set.length + 1)
            }"`,
          );
          continue;
        }
        graphSource = set;
      }
      const graph = validateGraph(graphSource, registry, sink, cache);
      if (graph) {
        trials.push({
          id: trialId(params, seed),
          label: trialLabel(params, seed),
          params,
          seed,
          graph,
        });
      }
    }
  }
  problems.list.push(
    ...sink.list.filter((p) => !poisoned.has(`${p.override ?? ""}:${p.line}:${p.col}`)),
  );
  if (problems.list.length === before) {
    // Random draws (or values that print alike across axes) can still make two trials one.
    const seen = new Map<string, Trial>();
    for (const t of trials) {
      const first = seen.get(t.label);
      if (first) {
        const where = sweep.random?.axes[0]?.loc ?? axes[0]?.loc ?? nodes.loc;
        problems.add(
          where,
          `the sweep makes trial "${t.label}" twice; ` +
            (sweep.random
              ? "random draws repeat (or print alike to 4 digits): widen the space or lower count"
              : "give axis values that differ in their first 4 digits"),
        );
        break;
      }
      seen.set(t.label, t);
    }
  }
  return problems.list.length > before ? [] : trials;
}
