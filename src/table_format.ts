/**
 * Renders a {@linkcode ComparisonTable} for people and programs:
 * - `text`: for a terminal — aligned columns, no Markdown markers, fitted to a width (metric
 *   columns that do not fit go to a further block that repeats the axis columns), best marked
 *   with `*` (and bold when colour is on), ties for best with `≈`, a legend below;
 * - `markdown`: a GitHub table, best in bold, ties for best with `≈`, the legend below;
 * - `csv`: one mean, one std and one p column per metric (p: the paired test against the
 *   column's top), a `reference` column with the reference's label, `best` and `tied` columns
 *   listing the metrics where the row is best or tied for best;
 * - `json`: the table itself, full precision, with each column's test (`tests`).
 *
 * Best and tied are decided by the table's significance test (`table.ts`: a paired t-test over
 * seeds, p < 0.05; no test with fewer than 3 seeds).
 *
 * Every format has one column per sweep axis (`method`, `student.lr`, ...) instead of one
 * `method=pkt, student.lr=0.001` label; a reference row shows `reference: <label>` in the first
 * axis column (text, Markdown) or in `reference` (CSV).
 *
 * Text, Markdown and CSV round each mean ± std to the precision its std supports
 * ({@linkcode roundToStd}: the std to two significant digits, the mean to the same decimal
 * place); JSON keeps every digit.
 *
 * ```ts
 * import { comparisonTable } from "./table.ts";
 * import { formatTable } from "./table_format.ts";
 * const table = comparisonTable([
 *   { params: { method: "pkt" }, seed: 0, status: "done", metrics: { mAP: 0.5212 } },
 *   { params: { method: "pkt" }, seed: 1, status: "done", metrics: { mAP: 0.5033 } },
 * ]);
 * formatTable(table, "csv").split("\n")[1]; // "pkt,,2,0,0.512,0.013,"
 * ```
 * @module
 */
import { displayValue } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { type ComparisonTable, type MethodRow, MIN_TEST_SEEDS, REFERENCE_PREFIX } from "./table.ts";

/** Output formats of {@linkcode formatTable}. */
export type TableFormat = "text" | "markdown" | "csv" | "json";

/** What `--format` accepts: the formats plus `md` for `markdown`. */
export const TABLE_FORMAT_NAMES: readonly string[] = ["text", "md", "markdown", "csv", "json"];

/** Options of {@linkcode formatTable}. */
export interface FormatOptions {
  /** `text`: the width to fit in characters (a terminal's columns). Default: no limit. */
  width?: number;
  /** `text`: mark best cells in bold with ANSI escapes too. Default false. */
  color?: boolean;
}

/**
 * Renders a table as terminal text, Markdown, CSV or JSON (see the module doc).
 *
 * @example
 * ```ts
 * import { comparisonTable } from "./table.ts";
 * import { formatTable } from "./table_format.ts";
 * const t = comparisonTable([{ params: { m: "a" }, status: "done", metrics: { mAP: 0.5 } }]);
 * formatTable(t, "markdown").split("\n")[0]; // "| m | seeds | failed | mAP |"
 * ```
 */
export function formatTable(
  table: ComparisonTable,
  format: TableFormat,
  options: FormatOptions = {},
): string {
  switch (format) {
    case "text":
      return text(table, options);
    case "markdown":
      return markdown(table);
    case "csv":
      return csv(table);
    case "json":
      return JSON.stringify(table, null, 2) + "\n";
    default:
      throw new KtError(`unknown table format "${format as string}"`, {
        hint: `use one of ${TABLE_FORMAT_NAMES.join(", ")}`,
      });
  }
}

/** The format a `--format` value names (`md` → `markdown`). */
export function tableFormat(name: string): TableFormat {
  if (name === "md") return "markdown";
  if (name === "text" || name === "markdown" || name === "csv" || name === "json") return name;
  throw new KtError(`unknown table format "${name}"`, {
    hint: `use one of ${TABLE_FORMAT_NAMES.join(", ")}`,
  });
}

/**
 * A mean and its std as text, rounded to the precision the std supports: the std to two
 * significant digits, the mean to the same decimal place (`0.76523 ± 0.01224` →
 * `0.765 ± 0.012`; `12345 ± 1234` → `12300 ± 1200`). Without a usable std (one seed: `null`;
 * all seeds equal: 0) the mean keeps four significant digits and `std` is `null` or `"0"`.
 *
 * @example
 * ```ts
 * import { roundToStd } from "./table_format.ts";
 * roundToStd(0.76523, 0.01224); // { mean: "0.765", std: "0.012" }
 * roundToStd(0.9813, null); // { mean: "0.9813", std: null }
 * ```
 */
export function roundToStd(mean: number, std: number | null): { mean: string; std: string | null } {
  if (!Number.isFinite(mean)) {
    return { mean: special(mean), std: std === null ? null : special(std) };
  }
  if (std === null) return { mean: significant(mean), std: null };
  if (!Number.isFinite(std)) return { mean: significant(mean), std: special(std) };
  // All seeds equal, up to float rounding (three 0.95s average to 0.94999999999999984 ± 1e-16).
  if (std <= 1e-9 * Math.abs(mean) || std === 0) return { mean: significant(mean), std: "0" };
  // Two significant digits of the std; rounding may carry it to the next decade (0.0996 → 0.10).
  let decimals = 1 - Math.floor(Math.log10(std));
  if (Number(std.toFixed(Math.max(Math.min(decimals, 20), 0))) >= 10 ** (2 - decimals)) {
    decimals -= 1;
  }
  if (decimals > 20) return { mean: significant(mean), std: std.toExponential(1) };
  if (decimals >= 0) return { mean: fixed(mean, decimals), std: std.toFixed(decimals) };
  const unit = 10 ** -decimals;
  return {
    mean: String(Math.round(mean / unit) * unit),
    std: String(Math.round(std / unit) * unit),
  };
}

function special(v: number): string {
  return Number.isNaN(v) ? "NaN" : v > 0 ? "∞" : "−∞";
}

/** Four significant digits, in fixed notation when the value is not tiny. */
function significant(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return String(Math.round(v));
  if (a !== 0 && a < 1e-4) return v.toExponential(3);
  return v.toPrecision(4);
}

/** toFixed without `-0.000`. */
function fixed(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/**
 * A p-value as text: three significant digits, `< 0.0001` below that.
 *
 * @example
 * ```ts
 * import { formatP } from "./table_format.ts";
 * formatP(0.0741799); // "0.0742"
 * formatP(1e-7); // "<0.0001"
 * ```
 */
export function formatP(p: number): string {
  if (p < 1e-4) return "<0.0001";
  return String(Number(p.toPrecision(3)));
}

/**
 * The lines under a table that say what its marks mean and which columns had no test.
 * `best` names how a best cell is shown (`*` or `bold`).
 */
export function significanceLegend(table: ComparisonTable, best: "*" | "bold"): string[] {
  const tests = Object.entries(table.tests);
  if (tests.length === 0) return [];
  const lines: string[] = [];
  const marked = tests.some(([, t]) => t.verdict !== "n/a");
  if (marked) {
    const alpha = tests[0][1].alpha;
    lines.push(
      `${best === "*" ? "*" : "bold"}: best — better than every other method by a ${
        tests[0][1].test
      }, p < ${alpha}; ≈: tied for best (p ≥ ${alpha} against the best mean).`,
    );
  }
  const untested = tests.filter(([, t]) => t.verdict === "n/a").map(([m]) => m);
  if (untested.length === tests.length) {
    lines.push(
      `Nothing marked best: a paired test over seeds needs ${MIN_TEST_SEEDS} seeds per method.`,
    );
  } else if (untested.length > 0) {
    lines.push(
      `No test (fewer than ${MIN_TEST_SEEDS} seeds in common): ${untested.join(", ")}.`,
    );
  }
  return lines;
}

/** The text of a row's value on an axis: `reference: <label>` on the first axis of a reference. */
function axisCells(table: ComparisonTable, row: MethodRow): string[] {
  if (table.axes.length === 0) return [row.method];
  return table.axes.map((a, i) => {
    if (row.reference) return i === 0 ? row.method : "";
    return a in row.params ? displayValue(row.params[a]) : "";
  });
}

/** Axis headers: the axes, or one `method` column when the sweep has none. */
function axisHeaders(table: ComparisonTable): string[] {
  return table.axes.length > 0 ? table.axes : ["method"];
}

function metricHeader(table: ComparisonTable, m: string): string {
  return table.lowerIsBetter.includes(m) ? `${m} ↓` : m;
}

/** `mean ± std` of a cell, rounded; `n/a` when the row has no value; `(n=k)` when k ≠ seeds. */
function cellText(table: ComparisonTable, row: MethodRow, m: string): string {
  const c = row.metrics[m];
  if (!c) return "n/a";
  const { mean, std, note } = cellParts(table, row, m);
  return `${mean} ± ${std}${note}`;
}

/**
 * A cell's rounded mean and std and its note: `(n=k)` when k ≠ seeds; in a change column
 * (`table.pColumns`) the mean is signed and the note is the test's `(p 0.03)` or `(no test)`.
 */
function cellParts(
  table: ComparisonTable,
  row: MethodRow,
  m: string,
): { mean: string; std: string; note: string } {
  const c = row.metrics[m];
  const { mean, std } = roundToStd(c.mean, c.std);
  const n = c.n === row.seeds ? "" : `n=${c.n}`;
  if (!table.pColumns?.includes(m)) return { mean, std: std ?? "—", note: n ? ` (${n})` : "" };
  const signed = c.mean > 0 && !/^0(\.0*)?$/.test(mean) ? `+${mean}` : mean;
  const test = c.p === null ? "no test" : `p ${formatP(c.p)}`;
  return { mean: signed, std: std ?? "—", note: ` (${[n, test].filter(Boolean).join(", ")})` };
}

function markdown(table: ComparisonTable): string {
  const axes = axisHeaders(table);
  const header = [...axes, "seeds", "failed", ...table.metrics.map((m) => metricHeader(table, m))];
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    row(header.map(cell)),
    row(header.map((_, i) => (i < axes.length ? "---" : "---:"))),
    ...table.rows.map((r) =>
      row([
        ...axisCells(table, r).map(cell),
        String(r.seeds),
        String(r.failed),
        ...table.metrics.map((m) => {
          const text = cellText(table, r, m);
          return r.metrics[m]?.best ? `**${text}**` : r.metrics[m]?.tie ? `${text} ≈` : text;
        }),
      ])
    ),
  ];
  const legend = significanceLegend(table, "bold");
  return lines.join("\n") + "\n" + (legend.length > 0 ? `\n${legend.join("\n\n")}\n` : "");
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function csv(table: ComparisonTable): string {
  const header = [
    ...table.axes,
    "reference",
    "seeds",
    "failed",
    ...table.metrics.flatMap((m) => [`${m}_mean`, `${m}_std`, `${m}_p`]),
    "best",
    "tied",
  ];
  const lines = [
    header,
    ...table.rows.map((r) => [
      ...table.axes.map((a) => r.reference || !(a in r.params) ? "" : displayValue(r.params[a])),
      r.reference ? r.method.slice(REFERENCE_PREFIX.length) : "",
      String(r.seeds),
      String(r.failed),
      ...table.metrics.flatMap((m) => {
        const c = r.metrics[m];
        if (!c) return ["", "", ""];
        const { mean, std } = roundToStd(c.mean, c.std);
        return [mean, std ?? "", c.p === null ? "" : String(Number(c.p.toPrecision(3)))];
      }),
      table.metrics.filter((m) => r.metrics[m]?.best).join(";"),
      table.metrics.filter((m) => r.metrics[m]?.tie).join(";"),
    ]),
  ];
  return lines.map((cells) => cells.map(csvCell).join(",")).join("\n") + "\n";
}

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// ---------------------------------------------------------------------------------------------
// Terminal text

const GAP = "  ";
/** The narrowest an axis column is cut to (with `…`) to fit the width. */
const MIN_AXIS = 8;
const BOLD = "\x1b[1m";
const NORMAL = "\x1b[22m";

/** A column of the text table: header and cells already padded to one width. */
interface Column {
  header: string;
  cells: string[];
  /** Cells to draw in bold when colour is on. */
  bold: boolean[];
  width: number;
}

function width(s: string): number {
  return [...s].length;
}

function padStart(s: string, w: number): string {
  return " ".repeat(Math.max(w - width(s), 0)) + s;
}

function padEnd(s: string, w: number): string {
  return s + " ".repeat(Math.max(w - width(s), 0));
}

function cut(s: string, w: number): string {
  return width(s) <= w ? s : [...s].slice(0, w - 1).join("").trimEnd() + "…";
}

function textColumn(header: string, cells: string[], right: boolean, bold?: boolean[]): Column {
  const w = Math.max(width(header), ...cells.map(width));
  const pad = right ? padStart : padEnd;
  return {
    header: pad(header, w),
    cells: cells.map((c) => pad(c, w)),
    bold: bold ?? cells.map(() => false),
    width: w,
  };
}

/** A metric column: means right-aligned, `±` under `±`, std left-aligned, then the mark. */
function metricColumn(table: ComparisonTable, m: string): Column {
  const parts = table.rows.map((r) => {
    const c = r.metrics[m];
    if (!c) return { mean: "n/a", std: "", n: "", mark: "" };
    const { mean, std, note } = cellParts(table, r, m);
    return { mean, std, n: note, mark: c.best ? "*" : c.tie ? "≈" : "" };
  });
  const meanW = Math.max(...parts.map((p) => width(p.mean)));
  const stdW = Math.max(...parts.map((p) => width(p.std + p.n)));
  const marks = parts.some((p) => p.mark);
  const cells = parts.map((p) =>
    padStart(p.mean, meanW) + (p.std ? ` ± ${padEnd(p.std + p.n, stdW)}` : " ".repeat(stdW + 3)) +
    (marks ? ` ${p.mark || " "}` : "")
  );
  return textColumn(metricHeader(table, m), cells, true, parts.map((p) => p.mark === "*"));
}

function text(table: ComparisonTable, options: FormatOptions): string {
  const limit = options.width !== undefined && options.width > 0 ? options.width : Infinity;
  const axisTexts = table.rows.map((r) => axisCells(table, r));
  let axes = axisHeaders(table).map((h, i) =>
    textColumn(h, axisTexts.map((cells) => cells[i]), false)
  );
  const keys: Column[] = [textColumn("seeds", table.rows.map((r) => String(r.seeds)), true)];
  if (table.rows.some((r) => r.failed > 0)) {
    keys.push(textColumn("failed", table.rows.map((r) => String(r.failed)), true));
  }
  const metrics = table.metrics.map((m) => metricColumn(table, m));
  const span = (cols: Column[]) =>
    cols.reduce((s, c) => s + c.width, 0) + GAP.length * Math.max(cols.length - 1, 0);
  // Cut the widest axis columns (never below MIN_AXIS) until the keys and one metric fit.
  const widest = Math.max(0, ...metrics.map((c) => c.width));
  while (span([...axes, ...keys]) + GAP.length + widest > limit) {
    const i = axes.reduce((best, c, j) => (c.width > axes[best].width ? j : best), 0);
    const target = Math.max(
      axes[i].width - (span([...axes, ...keys]) + GAP.length + widest - limit),
      MIN_AXIS,
    );
    if (target >= axes[i].width) break;
    axes = axes.map((c, j) =>
      j === i
        ? textColumn(
          cut(c.header.trimEnd(), target),
          c.cells.map((s) => cut(s.trimEnd(), target)),
          false,
        )
        : c
    );
  }
  // Metric columns in blocks that fit beside the keys.
  const blocks: Column[][] = [];
  for (const column of metrics) {
    const block = blocks[blocks.length - 1];
    if (block && span([...axes, ...keys, ...block, column]) <= limit) block.push(column);
    else blocks.push([column]);
  }
  if (blocks.length === 0) blocks.push([]);
  const firstMethod = table.rows.findIndex((r) => !r.reference);
  const render = (block: Column[]) => {
    const cols = [...axes, ...keys, ...block];
    const line = (cells: string[]) => cells.join(GAP).trimEnd();
    const rule = line(cols.map((c) => "─".repeat(c.width)));
    const out = [line(cols.map((c) => c.header)), rule];
    table.rows.forEach((_, i) => {
      if (i === firstMethod && i > 0) out.push(rule);
      out.push(
        line(
          cols.map((c) =>
            options.color && c.bold[i]
              ? c.cells[i].replace(/\S(.*\S)?/, `${BOLD}$&${NORMAL}`)
              : c.cells[i]
          ),
        ),
      );
    });
    return out.join("\n");
  };
  const legend = significanceLegend(table, "*").flatMap((l) => wrap(l, limit));
  return [blocks.map(render).join("\n\n"), ...legend].join("\n") + "\n";
}

/** Splits text at spaces into lines of at most `limit` characters (longer words stay whole). */
function wrap(text: string, limit: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && width(line) + 1 + width(word) > limit) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}
