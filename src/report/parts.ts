/**
 * The pieces every section uses: the methods' display names, colours and trials, their
 * label cells and legend, a section, a note, a colour swatch.
 * @module
 */
import { canonicalJson, displayValue } from "../canonical.ts";
import { type ComparisonTable, type MethodRow, REFERENCE_PREFIX } from "../table.ts";
export { isFinished } from "../table.ts";
import type { ReportTrial } from "./types.ts";
import { esc } from "./format.ts";

/** The methods' colours (colour-blind safe first), in table order. */
export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#d55e00",
  "#cc79a7",
  "#56b4e9",
  "#8c564b",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
/** Reference rows (teacher, plain student): dark neutrals, apart from the methods' colours. */
const REFERENCE_PALETTE = ["#3b3b3b", "#8a6d3b", "#5b5f97", "#6b8e23"];

/** A row of the table (a method or a reference) as the report shows it. */
export interface MethodInfo {
  row: MethodRow;
  /**
   * Short display name: the value when every method has the same single parameter; a
   * reference's label.
   */
  name: string;
  color: string;
  /** The trials of a method (none for a reference: it is measured alongside them). */
  trials: ReportTrial[];
}

/** The table's rows with display names and colours: references first, as in the table. */
export function describeRows(table: ComparisonTable, trials: readonly ReportTrial[]): MethodInfo[] {
  const rows = table.rows.filter((r) => !r.reference);
  const keys = rows.map((r) => Object.keys(r.params));
  const single = keys.length > 0 && keys.every((k) => k.length === 1 && k[0] === keys[0][0]);
  const methods = rows.map((row, i): MethodInfo => {
    const value = single ? Object.values(row.params)[0] : undefined;
    return {
      row,
      name: value === undefined ? row.method : displayValue(value),
      color: PALETTE[i % PALETTE.length],
      trials: [],
    };
  });
  const references = table.rows.filter((r) => r.reference).map((row, i): MethodInfo => ({
    row,
    name: row.method.startsWith(REFERENCE_PREFIX)
      ? row.method.slice(REFERENCE_PREFIX.length)
      : row.method,
    color: REFERENCE_PALETTE[i % REFERENCE_PALETTE.length],
    trials: [],
  }));
  for (const trial of trials) {
    // The row whose parameters all match the trial's (the most specific one when several do).
    let best: MethodInfo | undefined;
    for (const m of methods) {
      const entries = Object.entries(m.row.params);
      const matches = entries.every(([k, v]) =>
        k in trial.params && canonicalJson(trial.params[k]) === canonicalJson(v)
      );
      if (matches && (!best || entries.length > Object.keys(best.row.params).length)) best = m;
    }
    best?.trials.push(trial);
  }
  return [...references, ...methods];
}

/** The method rows (not the references). */
export function methodsOf(rows: MethodInfo[]): MethodInfo[] {
  return rows.filter((m) => !m.row.reference);
}

/** The header of the method column: the parameter name when names are shortened to values. */
function methodHeader(methods: MethodInfo[]): string {
  const first = methodsOf(methods)[0];
  if (!first || first.name === first.row.method) return "method";
  return Object.keys(first.row.params)[0];
}

/**
 * The leading cells of a row: one per sweep axis when there are two or more (the swatch in the
 * first; a reference's label across them all), else one with the method's name.
 */
export function labelHeads(table: ComparisonTable, methods: MethodInfo[]): string {
  return table.axes.length >= 2
    ? table.axes.map((a) => `<th class="left">${esc(a)}</th>`).join("")
    : `<th class="left">${esc(methodHeader(methods))}</th>`;
}

/** The leading cells of a row (see {@linkcode labelHeads}); `tagged` marks a reference as such. */
export function labelCells(table: ComparisonTable, m: MethodInfo, tagged = true): string {
  const { row, name, color } = m;
  const first = row.reference
    ? `${swatch(color, true)}${tagged ? `<span class="tag">reference</span> ` : ""}${esc(name)}`
    : swatch(color) +
      esc(table.axes.length >= 2 ? displayValue(row.params[table.axes[0]] ?? "—") : name);
  if (table.axes.length < 2) return `<td class="left method">${first}</td>`;
  if (row.reference) return `<td class="left method" colspan="${table.axes.length}">${first}</td>`;
  return `<td class="left method">${first}</td>` +
    table.axes.slice(1).map((a) =>
      `<td class="left">${esc(a in row.params ? displayValue(row.params[a]) : "—")}</td>`
    ).join("");
}

/** A titled section of the page. */
export function section(title: string, id: string, content: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>\n${content}\n</section>`;
}

/** A note in place of content (escaped). */
export function note(text: string): string {
  return `<p class="note">${esc(text)}</p>`;
}

/** A method's colour swatch; a reference's is an outlined box. */
export function swatch(color: string, reference = false): string {
  return reference
    ? `<span class="swatch reference" style="border-color:${color}"></span>`
    : `<span class="swatch" style="background:${color}"></span>`;
}

/** A legend: each method with its swatch, references marked. */
export function legend(methods: MethodInfo[]): string {
  return `<ul class="legend">${
    methods.map((m) =>
      m.row.reference
        ? `<li>${swatch(m.color, true)}reference: ${esc(m.name)}</li>`
        : `<li>${swatch(m.color)}${esc(m.name)}</li>`
    ).join("")
  }</ul>`;
}
