/**
 * `kt report`: one self-contained HTML file per run — the comparison table (mean ± std over
 * seeds, significant best and ties marked, median run time per trial), the paired tests behind
 * the marks, a dot plot of mAP (every seed a dot, mean ± std; the axis spans the data and says so
 * when it does not start at 0; with two or more sweep axes the first is along x and the others
 * are colours with a legend), precision@k curves, training-loss curves, failed trials with their
 * reasons, the settings that differ between methods and the resolved config of every method.
 * References (the teacher, the plain student) are rows of the table marked as such, dashed
 * horizontal lines across the mAP chart (named at its edge when far off its range) and dashed
 * precision@k curves; never best.
 *
 * The page loads nothing: no scripts, fonts or stylesheets from anywhere (a Content-Security-Policy
 * forbids it), charts are inline SVG drawn here, and every text from the run (method names and
 * configs come from user YAML) is HTML-escaped.
 *
 * {@linkcode renderReport} is a pure function of the data; {@linkcode loadReportInput} reads it
 * from a run directory's results database; {@linkcode writeReport} does both and writes the file
 * atomically.
 *
 * ```ts
 * import { renderReport } from "./report.ts";
 * const html = renderReport({
 *   run: { experiment: "demo", started: "2026-01-02T03:04:05Z" },
 *   trials: [
 *     { label: "method=pkt,seed=0", params: { method: "pkt" }, seed: 0, status: "done", metrics: { mAP: 0.5 } },
 *     { label: "method=ce,seed=0", params: { method: "ce" }, seed: 0, status: "done", metrics: { mAP: 0.4 } },
 *   ],
 * });
 * html.startsWith("<!DOCTYPE html>"); // true
 * ```
 * @module
 */
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { KT_VERSION } from "./version.ts";
import { canonicalJson, displayValue, type JsonValue } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { writeFileAtomic } from "./io/files.ts";
import { type EpochPoint, openResults, requireResults, type TrialRow } from "./results.ts";
import {
  type ComparisonTable,
  comparisonTable,
  meanStd,
  type MethodRow,
  MIN_TEST_SEEDS,
  REFERENCE_PREFIX,
  type TrialResult,
} from "./table.ts";
import { formatP, significanceLegend } from "./table_format.ts";
import { EVAL_PHASE_PREFIX } from "./eval_curve.ts";
import type { Gallery } from "./gallery.ts";

/** The run a report describes (a results-database `RunRow` fits). */
export interface ReportRun {
  experiment: string;
  id?: number;
  /** The experiment YAML file. */
  file?: string | null;
  /** ISO-8601 start time. */
  started: string;
  finished?: string | null;
  ktVersion?: string | null;
  ktCommit?: string | null;
}

/** One trial of the report: its table data plus what the report shows beside it. */
export interface ReportTrial extends TrialResult {
  label: string;
  seed: number;
  /** Why it failed. */
  reason?: string | null;
  /** The fully resolved experiment config of the trial. */
  config?: JsonValue | null;
  /** Per-epoch training loss of each training node. */
  curves?: readonly EpochPoint[];
  /** Set when the curves were recorded by an earlier run (the trial came from the cache). */
  curvesFromRun?: number;
  /** ISO-8601 times the trial started and finished (its run time in the report). */
  started?: string | null;
  finished?: string | null;
}

/** Everything {@linkcode renderReport} draws. */
export interface ReportInput {
  run: ReportRun;
  trials: readonly ReportTrial[];
  /** The comparison table; computed from `trials` with the default options when omitted. */
  table?: ComparisonTable;
  /** kt version shown when `run.ktVersion` is not recorded. */
  ktVersion?: string;
  /** When the report was generated (omitted: not shown, so the output is deterministic). */
  generated?: Date;
  /** The retrieval gallery (`kt report --gallery`, see `gallery.ts`). */
  gallery?: Gallery;
}

/** Options of {@linkcode writeReport}. */
export interface WriteReportOptions {
  /** Output file. Default `<runDir>/report.html`. */
  out?: string;
  /** Which run (sweep invocation) of the database. Default: the latest. */
  runId?: number;
  /** The retrieval gallery to include. */
  gallery?: Gallery;
}

export { KT_VERSION };

const FINISHED = new Set(["done", "cached"]);
const PALETTE = [
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
const REASON_LIMIT = 4000;

/**
 * Renders the HTML report of a run. Pure: the same input gives the same text.
 *
 * @example
 * ```ts
 * import { renderReport } from "./report.ts";
 * const html = renderReport({
 *   run: { experiment: "one", started: "2026-01-02T03:04:05Z" },
 *   trials: [{ label: "a", params: { m: "a" }, seed: 0, status: "done", metrics: { mAP: 0.5 } }],
 * });
 * html.includes("<svg"); // true
 * ```
 */
export function renderReport(input: ReportInput): string {
  const table = input.table ?? comparisonTable(input.trials);
  const rows = describeRows(table, input.trials);
  const methods = methodsOf(rows);
  const run = input.run;
  const version = run.ktVersion ?? input.ktVersion ?? KT_VERSION;
  const title = `kt report — ${run.experiment}`;
  const counts = statusCounts(input.trials);
  const meta = [
    run.id === undefined ? "" : `run #${run.id}`,
    `started ${formatDate(run.started)}`,
    run.finished ? `finished ${formatDate(run.finished)}` : "not finished",
    run.file ? `file <code>${esc(run.file)}</code>` : "",
    `kt ${esc(version)}${run.ktCommit ? ` (${esc(run.ktCommit.slice(0, 12))})` : ""}`,
    input.generated ? `report generated ${formatDate(input.generated.toISOString())}` : "",
  ].filter(Boolean);
  const body = [
    `<header><h1>${esc(title)}</h1>`,
    `<p class="meta">${meta.join(" · ")}</p>`,
    `<p class="meta">${esc(counts)}</p></header>`,
    section("Comparison", "comparison", comparisonHtml(table, rows)),
    section("Significance", "significance", significanceHtml(table, rows)),
    section(mapChartTitle(table), "map", mapChartHtml(table, rows)),
    section("Precision@k", "precision", precisionChartHtml(table, rows)),
    section("Retrieval gallery", "gallery", galleryHtml(input.gallery, rows)),
    section("Training loss", "loss", lossChartsHtml(methods, input.trials)),
    ...evalSection(methods, input.trials),
    section("Failed trials", "failed", failedHtml(input.trials)),
    section("Config: what differs between methods", "config", configHtml(methods)),
    section("All trials", "trials", trialsHtml(input.trials, table)),
    `<footer>Generated by kt ${esc(version)}. Self-contained: no scripts, no network.</footer>`,
  ];
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta http-equiv="Content-Security-Policy" ' +
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body><main>",
    ...body,
    "</main></body>",
    "</html>",
    "",
  ].join("\n");
}

/**
 * Reads what a report shows from `<runDir>/results.sqlite`: the run (latest unless `runId`),
 * its trials with metrics, configs and training curves. A trial that came entirely from the cache
 * has no curves of its own; it gets those of the newest earlier run's trial with the same label
 * and config. Throws {@linkcode KtError} when there is no database or no such run.
 */
export function loadReportInput(runDir: string, runId?: number): ReportInput {
  requireResults(runDir);
  if (runId !== undefined && !(Number.isInteger(runId) && runId > 0)) {
    throw new KtError(`--run-id must be a positive integer, got ${runId}`, {
      hint: "`kt results <run> --format json` or the sweep output names the runs",
    });
  }
  const db = openResults(runDir);
  try {
    const runs = db.runs();
    const run = runId === undefined ? runs[runs.length - 1] : runs.find((r) => r.id === runId);
    if (!run) {
      throw new KtError(
        runId === undefined ? `${runDir} holds no runs yet` : `${runDir} has no run ${runId}`,
        {
          hint: runs.length > 0
            ? `runs: ${runs.map((r) => r.id).join(", ")}`
            : "run `deno task sweep <file>` first",
        },
      );
    }
    const earlier = runs.filter((r) => r.id < run.id).reverse().flatMap((r) => db.trials(r.id));
    const trials: ReportTrial[] = db.trials(run.id).map((t) => {
      const own = db.curves(t.id);
      if (own.length > 0 || t.status !== "cached") return withCurves(t, own);
      const key = configKey(t.config);
      for (const old of earlier) {
        if (old.label !== t.label || configKey(old.config) !== key) continue;
        const curves = db.curves(old.id);
        if (curves.length > 0) return { ...withCurves(t, curves), curvesFromRun: old.runId };
      }
      return withCurves(t, own);
    });
    return { run, trials, table: comparisonTable(trials), ktVersion: KT_VERSION };
  } finally {
    db.close();
  }
}

/**
 * For the gallery: each method of the report's table (its label) with the trial it is shown by,
 * its finished trial with the lowest seed.
 */
export function galleryMethods(
  input: ReportInput,
): { method: string; trial: string; config?: JsonValue | null }[] {
  const table = input.table ?? comparisonTable(input.trials);
  return methodsOf(describeRows(table, input.trials)).flatMap((m) => {
    const t = m.trials.filter((t) => FINISHED.has(t.status)).sort((a, b) => a.seed - b.seed)[0];
    return t ? [{ method: m.row.method, trial: t.label, config: t.config }] : [];
  });
}

/** {@linkcode renderReport} of {@linkcode loadReportInput}, stamped with the current time. */
export function buildReport(runDir: string, runId?: number, gallery?: Gallery): string {
  return renderReport({ ...loadReportInput(runDir, runId), generated: new Date(), gallery });
}

/**
 * Builds the report of a run and writes it atomically (temp file + rename); returns the path.
 *
 * @example
 * ```ts ignore
 * import { writeReport } from "./report.ts";
 * const path = await writeReport("runs/quickstart"); // runs/quickstart/report.html
 * ```
 */
export async function writeReport(
  runDir: string,
  options: WriteReportOptions = {},
): Promise<string> {
  const html = buildReport(runDir, options.runId, options.gallery);
  const out = options.out ?? join(runDir, "report.html");
  try {
    await writeFileAtomic(out, new TextEncoder().encode(html));
  } catch (e) {
    throw new KtError(`cannot write the report: ${(e as Error).message}`, {
      where: out,
      hint: e instanceof Deno.errors.NotCapable
        ? "allow writing there (--allow-write), or choose another --out"
        : "check that the folder exists and is writable, or choose another --out",
      cause: e,
    });
  }
  return out;
}

/**
 * Escapes text for HTML content and attribute values (`& < > " '`).
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./report.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const esc = escapeHtml;

function withCurves(t: TrialRow, curves: EpochPoint[]): ReportTrial {
  return { ...t, curves };
}

function configKey(config: JsonValue | null): string {
  return config === null ? "" : canonicalJson(config);
}

// ---------------------------------------------------------------------------------------------
// Methods: display names, colours and their trials

interface MethodInfo {
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
function describeRows(table: ComparisonTable, trials: readonly ReportTrial[]): MethodInfo[] {
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
function methodsOf(rows: MethodInfo[]): MethodInfo[] {
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
function labelHeads(table: ComparisonTable, methods: MethodInfo[]): string {
  return table.axes.length >= 2
    ? table.axes.map((a) => `<th class="left">${esc(a)}</th>`).join("")
    : `<th class="left">${esc(methodHeader(methods))}</th>`;
}

function labelCells(table: ComparisonTable, m: MethodInfo, tagged = true): string {
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

function statusCounts(trials: readonly ReportTrial[]): string {
  const counts = new Map<string, number>();
  for (const t of trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const parts = [...counts].map(([s, n]) => `${n} ${s}`);
  return `${trials.length} trial${trials.length === 1 ? "" : "s"}${
    parts.length ? `: ${parts.join(", ")}` : ""
  }`;
}

// ---------------------------------------------------------------------------------------------
// Sections

function section(title: string, id: string, content: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>\n${content}\n</section>`;
}

function note(text: string): string {
  return `<p class="note">${esc(text)}</p>`;
}

function swatch(color: string, reference = false): string {
  return reference
    ? `<span class="swatch reference" style="border-color:${color}"></span>`
    : `<span class="swatch" style="background:${color}"></span>`;
}

function comparisonHtml(table: ComparisonTable, methods: MethodInfo[]): string {
  if (methods.length === 0) return note("No trials recorded in this run.");
  const head = [
    labelHeads(table, methods),
    "<th>seeds</th>",
    "<th>failed</th>",
    `<th title="median wall time of the trials that ran (not cached)">time / trial</th>`,
    ...table.metrics.map((m) =>
      table.lowerIsBetter.includes(m)
        ? `<th title="lower is better">${esc(m)} ↓</th>`
        : `<th>${esc(m)}</th>`
    ),
  ];
  const rows = methods.map((method) => {
    const { row, trials } = method;
    const times = trials.map(trialSeconds).filter((t): t is number => t !== undefined);
    const time = times.length > 0 ? formatSeconds(median(times)) : "—";
    const cells = table.metrics.map((m) => {
      const c = row.metrics[m];
      if (!c) return `<td class="na">n/a</td>`;
      const std = c.std === null ? "—" : formatNumber(c.std);
      const n = c.n === row.seeds ? "" : ` (n=${c.n})`;
      const text = `${formatNumber(c.mean)}<span class="pm">± ${std}${n}</span>`;
      if (c.best) return `<td class="best" title="best"><strong>${text}</strong></td>`;
      if (c.tie) return `<td class="tie" title="tied for best">${text} ≈</td>`;
      return `<td>${text}</td>`;
    });
    return `<tr class="${row.reference ? "reference-row" : "method-row"}">` +
      labelCells(table, method) +
      `<td>${row.seeds}</td><td${row.failed > 0 ? ' class="bad"' : ""}>${row.failed}</td>` +
      `<td class="time">${time}</td>${cells.join("")}</tr>`;
  });
  const references = methods.some((m) => m.row.reference)
    ? " References (teacher, plain student) come first: measured once per distinct model (a " +
      "teacher shared by every trial counts once; a plain student trained per seed, once per " +
      "seed), never compared for best."
    : "";
  return `<div class="scroll"><table class="results">\n<thead><tr>${head.join("")}</tr></thead>\n` +
    `<tbody>\n${rows.join("\n")}\n</tbody></table></div>\n` +
    `<p class="caption">Mean ± sample std over finished seeds (done or cached); — : one seed, ` +
    `no std. ${esc(significanceLegend(table, "bold").join(" "))} Time / trial: median wall ` +
    `time of the trials this run computed (from its first job's start to its last job's end, ` +
    `waits for shared jobs included; — : all cached).${references}</p>`;
}

/**
 * The paired tests behind the marks: per metric, the method with the best mean, the verdict, and
 * each other method's p-value against it (with the seeds it was paired over).
 */
function significanceHtml(table: ComparisonTable, rows: MethodInfo[]): string {
  const metrics = table.metrics.filter((m) => table.tests[m]);
  if (metrics.length === 0) return note("Fewer than two methods: nothing to test.");
  const methods = methodsOf(rows);
  const verdict = (m: string) => {
    const t = table.tests[m];
    return t.verdict === "best" ? "best" : t.verdict === "tie" ? "tie" : "no test";
  };
  const head = [
    labelHeads(table, methods),
    ...metrics.map((m) => `<th>${esc(m)}<span class="pm">${verdict(m)}</span></th>`),
  ];
  const body = methods.map((method) => {
    const { row } = method;
    const cells = metrics.map((m) => {
      const test = table.tests[m];
      if (test.top === row.method) {
        return `<td class="top" title="best mean of the column">top</td>`;
      }
      const c = test.comparisons.find((c) => c.method === row.method);
      if (!c) return `<td class="na">n/a</td>`;
      if (c.p === null) return `<td class="na" title="${c.n} common seeds">no test (n=${c.n})</td>`;
      const tip = `t = ${formatNumber(c.t!)}, df = ${c.df}, mean difference ${
        formatNumber(c.meanDiff)
      } over ${c.n} seeds`;
      const cls = c.p < test.alpha ? "sig" : "tie";
      return `<td class="${cls}" title="${esc(tip)}">p = ${esc(formatP(c.p))}` +
        `<span class="pm">n=${c.n}</span></td>`;
    });
    return `<tr>${labelCells(table, method)}${cells.join("")}</tr>`;
  });
  const test = table.tests[metrics[0]];
  return `<div class="scroll"><table class="significance">\n<thead><tr>${head.join("")}</tr>` +
    `</thead>\n<tbody>\n${body.join("\n")}\n</tbody></table></div>\n` +
    `<p class="caption">Each method against the best mean of the column (<em>top</em>): ${
      esc(test.test)
    }; n = seeds in common. The top is <strong>best</strong> only when every p &lt; ${test.alpha}; ` +
    `otherwise it and the methods with p ≥ ${test.alpha} are tied (≈). With fewer than ` +
    `${MIN_TEST_SEEDS} common seeds there is no test and nothing is marked. No correction for ` +
    `multiple comparisons (requiring every comparison to pass is already the stricter rule).</p>`;
}

/**
 * Which evaluation's retrieval metrics the charts show: `mAP` / `P@k`, or `<node>.mAP` /
 * `<node>.P@k` when a graph has several evaluate nodes of the method — the one whose mAP differs
 * most between methods (in a results file from before references were rows, a shared baseline's
 * evaluation is a column, the same on every row). Reference rows are not considered.
 */
export function retrievalPrefix(table: ComparisonTable): string | undefined {
  const prefixes = table.metrics
    .map((m) => /^(.*?)mAP$/.exec(m))
    .filter((x): x is RegExpExecArray => x !== null && (x[1] === "" || x[1].endsWith(".")))
    .map((x) => x[1]);
  let best: string | undefined;
  let spread = -1;
  for (const p of prefixes) {
    const means = table.rows.filter((r) => !r.reference).map((r) => r.metrics[`${p}mAP`]?.mean)
      .filter((v) => Number.isFinite(v)) as number[];
    const s = means.length > 0 ? Math.max(...means) - Math.min(...means) : 0;
    if (s > spread) {
      spread = s;
      best = p;
    }
  }
  return best;
}

/**
 * Each gallery query with every method's top-k: thumbnails outlined green (same label: a hit)
 * or red with a × (a miss), and the hits out of k. Each image is embedded once (a CSS class).
 */
function galleryHtml(gallery: Gallery | undefined, rows: MethodInfo[]): string {
  if (!gallery) {
    return note(
      "Run `kt report <run> --gallery` to add each method's top-10 retrieved images for a few " +
        "test queries (image data only).",
    );
  }
  const ids = Object.keys(gallery.images);
  const cls = new Map(ids.map((id, i) => [id, `g${i}`]));
  const css = ids.map((id) => `.${cls.get(id)}{background-image:url(${gallery.images[id]})}`)
    .join("\n");
  const labelOf = (l: number) => gallery.classNames?.[l] ?? String(l);
  const byName = new Map(rows.map((m) => [m.row.method, m]));
  const blocks = gallery.queries.map((q, qi) => {
    const lines = (gallery.rows[qi] ?? []).map((row) => {
      const m = byName.get(row.method);
      const name = m ? `${swatch(m.color)}${esc(m.name)}` : esc(row.method);
      const hits = row.hits.filter(Boolean).length;
      const thumbs = row.images.map((img, r) => {
        const what = `rank ${r + 1}: ${labelOf(row.labels[r])} — ${row.hits[r] ? "hit" : "miss"}`;
        return `<span class="thumb ${row.hits[r] ? "hit" : "miss"} ${cls.get(img)}" ` +
          `role="img" aria-label="${esc(what)}" title="${esc(what)}"></span>`;
      }).join("");
      return `<tr><td class="left method">${name}</td><td class="hits">${hits}/${row.images.length}` +
        `</td><td class="left thumbs">${thumbs}</td></tr>`;
    });
    return `<div class="gallery-query"><p class="gq-head"><span class="thumb query ${
      cls.get(q.image)
    }" role="img" aria-label="query"></span> query ${q.index} of the test split · label ` +
      `<strong>${esc(labelOf(q.label))}</strong></p>\n<div class="scroll"><table class="gallery">` +
      `<tbody>\n${lines.join("\n")}\n</tbody></table></div></div>`;
  });
  const skipped = gallery.skipped.length > 0
    ? ` Not shown: ${gallery.skipped.map((s) => `${s.method} (${s.reason})`).join("; ")}.`
    : "";
  return `<style>${css}</style>\n${blocks.join("\n")}\n<p class="caption">For the first ` +
    `query of each class, each method's ${gallery.k} nearest training images (cosine similarity ` +
    `of its representation, node <code>${esc(gallery.node)}</code>), best first; green: same ` +
    `label (a hit), red with ×: a miss. Each method is shown by its trial ${
      esc(gallery.methods.map((m) => `"${m.trial}"`).slice(0, 3).join(", "))
    }${gallery.methods.length > 3 ? ", …" : ""} (the lowest seed).${esc(skipped)}</p>`;
}

function fromNode(prefix: string): string {
  return prefix ? ` (node <code>${esc(prefix.slice(0, -1))}</code>)` : "";
}

/** The title of the main chart: `mAP per method`, `mAP per method and student.lr`. */
export function mapChartTitle(table: ComparisonTable): string {
  const [first, ...rest] = table.axes;
  if (!first) return "mAP per method";
  return `mAP per ${first}${rest.length > 0 ? ` and ${rest.join(", ")}` : ""}`;
}

function mapChartHtml(table: ComparisonTable, rows: MethodInfo[]): string {
  const prefix = retrievalPrefix(table);
  if (prefix === undefined) return note("No mAP recorded in this run — no chart.");
  const key = `${prefix}mAP`;
  // With two or more sweep axes: the first along x, the others as colours (with a legend).
  const [groupAxis, ...colourAxes] = table.axes;
  const colours = new Map<string, string>();
  const entries: DotEntry[] = methodsOf(rows).map((m) => {
    const c = m.row.metrics[key];
    const series = colourAxes.length > 0
      ? colourAxes.map((a) => `${a}=${displayValue(m.row.params[a] ?? "—")}`).join(", ")
      : undefined;
    if (series !== undefined && !colours.has(series)) {
      colours.set(series, PALETTE[colours.size % PALETTE.length]);
    }
    return {
      name: m.name,
      group: series !== undefined && groupAxis in m.row.params
        ? displayValue(m.row.params[groupAxis])
        : m.name,
      series,
      color: series !== undefined ? colours.get(series)! : m.color,
      mean: c?.mean ?? NaN,
      std: c?.std ?? null,
      points: m.trials.filter((t) => FINISHED.has(t.status) && Number.isFinite(t.metrics[key]))
        .map((t) => ({ seed: t.seed, value: t.metrics[key] })),
      best: c?.best ?? false,
      tie: c?.tie ?? false,
    };
  });
  // A reference's mAP is the unprefixed metric (its own evaluation), whatever the methods use.
  const references = rows.filter((m) => m.row.reference && Number.isFinite(m.row.metrics.mAP?.mean))
    .map((m) => ({
      name: m.name,
      color: m.color,
      mean: m.row.metrics.mAP.mean,
      std: m.row.metrics.mAP.std,
    }));
  const plot = dotPlot({
    id: "chart-map",
    label: mapChartTitle(table),
    metric: "mAP",
    entries,
    references,
  });
  const seriesLegend = colours.size > 0
    ? `<ul class="legend"><li class="legend-title">${esc(colourAxes.join(", "))}:</li>${
      [...colours].map(([name, color]) => `<li>${swatch(color)}${esc(name)}</li>`).join("")
    }</ul>`
    : "";
  const refLegend = references.length > 0 ? legend(rows.filter((m) => m.row.reference)) : "";
  const oneSeed = entries.every((e) => e.points.length <= 1);
  return `<figure>${seriesLegend}${refLegend}${plot.svg}</figure>` +
    `<p class="caption">Small dots: one trial each (a seed); bar: the mean over seeds${
      fromNode(prefix)
    }${oneSeed ? "" : ", whiskers ± one sample std"}; * best, ≈ tied for best (paired test, see ` +
    `Significance).${
      plot.zoomed
        ? ` <strong>The axis is zoomed</strong> to ${
          esc(plot.range)
        } — it does not start at 0, so compare positions, not heights.`
        : ""
    }${
      references.length > 0
        ? " Dashed lines: references (mean over their distinct measurements), not methods" +
          (plot.offAxis.length > 0 ? `; off the axis: ${esc(plot.offAxis.join(", "))}.` : ".")
        : ""
    }</p>`;
}

function precisionChartHtml(table: ComparisonTable, rows: MethodInfo[]): string {
  const prefix = retrievalPrefix(table) ?? "";
  const ks = table.metrics
    .map((m) => m.startsWith(prefix) ? /^P@(\d+)$/.exec(m.slice(prefix.length)) : null)
    .filter((x): x is RegExpExecArray => x !== null)
    .map((x) => Number(x[1]))
    .sort((a, b) => a - b);
  if (ks.length === 0) return note("No precision@k recorded in this run — no curves.");
  // References draw their own (unprefixed) P@k, dashed; only when they measured some.
  const shown = rows.filter((m) =>
    !m.row.reference || ks.some((k) => Number.isFinite(m.row.metrics[`P@${k}`]?.mean))
  );
  const series: LineSeries[] = shown.map((m) => ({
    name: m.name,
    color: m.color,
    dashed: m.row.reference,
    points: ks.map((k) => {
      const c = m.row.metrics[`${m.row.reference ? "" : prefix}P@${k}`];
      return { x: k, y: c?.mean ?? NaN, std: c?.std ?? null };
    }),
  }));
  const chart = lineChart({
    id: "chart-pk",
    xLabel: "k",
    yLabel: "precision@k",
    series,
    xTicks: ks,
    xLog: ks[0] > 0 && ks[ks.length - 1] / ks[0] >= 10,
  });
  const dashed = shown.some((m) => m.row.reference) ? " Dashed: references." : "";
  return `<figure>${legend(shown)}${chart}</figure>` +
    `<p class="caption">Mean precision among the top k retrieved items${
      fromNode(prefix)
    }; band: ± one std over seeds.${dashed}</p>`;
}

/** A training-loss series: node name plus phase. */
interface CurveKey {
  node: string;
  phase?: string;
  id: string;
}

function lossChartsHtml(methods: MethodInfo[], trials: readonly ReportTrial[]): string {
  const keys: CurveKey[] = [];
  for (const t of trials) {
    for (const p of t.curves ?? []) {
      if (p.phase?.startsWith(EVAL_PHASE_PREFIX)) continue; // evaluations: their own section
      const id = p.phase === undefined ? p.node : `${p.node}\u0000${p.phase}`;
      if (!keys.some((k) => k.id === id)) keys.push({ node: p.node, phase: p.phase, id });
    }
  }
  if (keys.length === 0) return note("No training curves recorded in this run.");
  const means = keys.map((key) =>
    methods.map((m) => meanCurve(m.trials.filter((t) => FINISHED.has(t.status)), key))
  );
  // Nodes whose curves are the same for every method (a shared teacher, a shared baseline) say
  // nothing about the comparison: show the nodes that differ, or all when none do.
  const differs = keys.map((_, i) => {
    const curves = means[i];
    if (methods.length < 2) return true;
    if (curves.some((c) => c.length === 0)) return true;
    return curves.some((c) => !sameCurve(c, curves[0]));
  });
  const shown = keys.map((_, i) => i).filter((i) => differs.every((d) => !d) || differs[i]);
  const hidden = keys.filter((_, i) => !shown.includes(i)).map(curveName);
  const borrowed = [...new Set(trials.flatMap((t) => t.curvesFromRun ?? []))];
  const charts = shown.map((i, n) => {
    const series: LineSeries[] = methods.map((m, j) => ({
      name: m.name,
      color: m.color,
      points: means[i][j].map((p) => ({ x: p.epoch + 1, y: p.mean, std: p.std })),
    }));
    const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
    const yLog = ys.length > 0 && ys.every((y) => y > 0) && Math.max(...ys) / Math.min(...ys) > 50;
    const epochs = series.flatMap((s) => s.points.map((p) => p.x));
    const chart = lineChart({
      id: `chart-loss-${n + 1}`,
      xLabel: "epoch",
      yLabel: yLog ? "loss (log scale)" : "loss",
      series,
      xTicks: integerTicks(Math.min(...epochs), Math.max(...epochs)),
      yLog,
    });
    return `<figure><figcaption>node <code>${esc(curveName(keys[i]))}</code></figcaption>` +
      `${legend(methods)}${chart}</figure>`;
  });
  return charts.join("\n") +
    `<p class="caption">Per-epoch training loss, mean over finished seeds (band: ± one std). ` +
    `Methods optimise different losses: compare shapes, not levels.` +
    (hidden.length ? ` Same for every method, not shown: ${hidden.map(esc).join(", ")}.` : "") +
    (borrowed.length
      ? ` Curves of cached trials come from run${borrowed.length > 1 ? "s" : ""} ` +
        `#${borrowed.join(", #")}.`
      : "") +
    `</p>`;
}

/**
 * Evaluation during training (`evalEvery` on a transfer node): one chart per node and metric,
 * a line per method (mean over seeds, ± std band) over the epochs evaluated. No section when no
 * node asked for it.
 */
function evalSection(methods: MethodInfo[], trials: readonly ReportTrial[]): string[] {
  const keys: CurveKey[] = [];
  for (const t of trials) {
    for (const p of t.curves ?? []) {
      if (!p.phase?.startsWith(EVAL_PHASE_PREFIX)) continue;
      const id = `${p.node}\u0000${p.phase}`;
      if (!keys.some((k) => k.id === id)) keys.push({ node: p.node, phase: p.phase, id });
    }
  }
  if (keys.length === 0) return [];
  const charts = keys.map((key, n) => {
    const metric = key.phase!.slice(EVAL_PHASE_PREFIX.length);
    const series: LineSeries[] = methods.map((m) => ({
      name: m.name,
      color: m.color,
      points: meanCurve(m.trials.filter((t) => FINISHED.has(t.status)), key)
        .map((p) => ({ x: p.epoch + 1, y: p.mean, std: p.std })),
    }));
    const epochs = series.flatMap((s) => s.points.map((p) => p.x));
    const chart = lineChart({
      id: `chart-eval-${n + 1}`,
      xLabel: "epoch",
      yLabel: metric,
      series,
      xTicks: integerTicks(Math.min(...epochs), Math.max(...epochs)),
    });
    return `<figure><figcaption>${esc(metric)} of node <code>${esc(key.node)}</code></figcaption>` +
      `${legend(methods)}${chart}</figure>`;
  });
  return [
    section(
      "Evaluation during training",
      "eval",
      charts.join("\n") +
        `<p class="caption">The students evaluated every few epochs (<code>evalEvery</code>): ` +
        `retrieval mAP and P@10 of the representation and the head's accuracy on the ` +
        `evaluation queries, mean over finished seeds (band: ± one std). The y-axis spans the ` +
        `values shown.</p>`,
    ),
  ];
}

function curveName(key: CurveKey): string {
  return key.phase === undefined ? key.node : `${key.node} (${key.phase})`;
}

interface CurvePoint {
  epoch: number;
  mean: number;
  std: number | null;
}

function meanCurve(trials: readonly ReportTrial[], key: CurveKey): CurvePoint[] {
  const byEpoch = new Map<number, number[]>();
  for (const t of trials) {
    for (const p of t.curves ?? []) {
      if (p.node !== key.node || p.phase !== key.phase) continue;
      const values = byEpoch.get(p.epoch) ?? [];
      if (Number.isFinite(p.loss)) values.push(p.loss);
      byEpoch.set(p.epoch, values);
    }
  }
  return [...byEpoch].sort(([a], [b]) => a - b).map(([epoch, values]) =>
    values.length === 0 ? { epoch, mean: NaN, std: null } : { epoch, ...meanStd(values) }
  );
}

function sameCurve(a: CurvePoint[], b: CurvePoint[]): boolean {
  return a.length === b.length && a.every((p, i) =>
    p.epoch === b[i].epoch &&
    (p.mean === b[i].mean || Math.abs(p.mean - b[i].mean) <= 1e-9 * Math.abs(p.mean))
  );
}

function failedHtml(trials: readonly ReportTrial[]): string {
  const failed = trials.filter((t) => t.status === "failed" || t.status === "diverged");
  const pending =
    trials.filter((t) =>
      t.status === "queued" || t.status === "running" || t.status === "interrupted"
    ).length;
  const pendingNote = pending > 0
    ? note(
      `${pending} trial${pending === 1 ? " has" : "s have"} not finished ` +
        "(queued, running or interrupted).",
    )
    : "";
  if (failed.length === 0) return note("No trial failed.") + pendingNote;
  const rows = failed.map((t) => {
    const reason = t.reason ?? "(no reason recorded)";
    const cut = reason.length > REASON_LIMIT
      ? `${reason.slice(0, REASON_LIMIT)}\n… (${reason.length - REASON_LIMIT} more characters)`
      : reason;
    return `<tr class="failed-row"><td class="left"><code>${esc(t.label)}</code></td>` +
      `<td>${t.seed}</td><td class="left"><pre class="reason">${esc(cut)}</pre></td></tr>`;
  });
  return `<div class="scroll"><table class="failed">\n` +
    `<thead><tr><th class="left">trial</th><th>seed</th><th class="left">reason</th></tr></thead>\n` +
    `<tbody>\n${rows.join("\n")}\n</tbody></table></div>` + pendingNote;
}

function configHtml(methods: MethodInfo[]): string {
  // Each method's trial with the lowest seed, so seeds differ as little as possible.
  const withConfig = methods.map((m) => ({
    m,
    trial:
      [...m.trials].filter((t) => t.config != null).sort((a, b) =>
        Number(!FINISHED.has(a.status)) - Number(!FINISHED.has(b.status)) || a.seed - b.seed
      )[0],
  }));
  if (withConfig.every((c) => !c.trial)) return note("No resolved config recorded in this run.");
  const varying = varyingNodes(withConfig.map((c) => c.trial?.config ?? null));
  const blocks = withConfig.map(({ m, trial }) => {
    const summary = `${swatch(m.color)}${esc(m.name)}` +
      (trial ? ` <span class="meta">(trial <code>${esc(trial.label)}</code>)</span>` : "");
    const body = trial
      ? `<pre class="config">${esc(toYaml(trial.config, { lineWidth: 0 }))}</pre>`
      : note("No config recorded for this method.");
    return `<details class="config"><summary>${summary}</summary>\n${body}</details>`;
  });
  const diff = methods.length > 1 ? configDiffHtml(withConfig) : "";
  const lead = varying.length > 0 && methods.length > 1
    ? `<p class="caption">Nodes whose config differs between methods: ${
      varying.map((n) => `<code>${esc(n)}</code>`).join(", ")
    }. The full resolved config of each method:</p>`
    : "";
  return diff + lead + blocks.join("\n");
}

/** Every leaf of a config as `path → JSON text` (lists are leaves). */
function flatConfig(
  value: JsonValue | null | undefined,
  prefix = "",
  out = new Map<string, string>(),
) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix && value !== undefined) out.set(prefix, canonicalJson(value));
  return out;
}

/**
 * The settings that differ between methods, one row each with every method's value (seeds left
 * out: they differ by design), and how many settings all share.
 */
function configDiffHtml(withConfig: { m: MethodInfo; trial?: ReportTrial }[]): string {
  const flat = withConfig.map((c) => c.trial ? flatConfig(c.trial.config ?? null) : undefined);
  const paths = [...new Set(flat.flatMap((f) => f ? [...f.keys()] : []))];
  const isSeed = (p: string) => p === "seed" || p.endsWith(".seed");
  const differs = paths.filter((p) =>
    !isSeed(p) && new Set(flat.map((f) => f?.get(p) ?? "")).size > 1
  );
  const shared = paths.length - differs.length;
  if (differs.length === 0) {
    return note(`Every method has the same resolved config (${shared} settings).`);
  }
  const head = `<th class="left">setting</th>` +
    withConfig.map(({ m }) => `<th class="left">${swatch(m.color)}${esc(m.name)}</th>`).join("");
  const body = differs.map((p) =>
    `<tr><td class="left"><code>${esc(p)}</code></td>${
      flat.map((f) => {
        const v = f?.get(p);
        return v === undefined
          ? `<td class="left na">—</td>`
          : `<td class="left"><code>${esc(displayConfigValue(v))}</code></td>`;
      }).join("")
    }</tr>`
  );
  return `<div class="scroll"><table class="config-diff">\n<thead><tr>${head}</tr></thead>\n` +
    `<tbody>\n${body.join("\n")}\n</tbody></table></div>\n` +
    `<p class="caption">The ${differs.length} setting${differs.length === 1 ? "" : "s"} that ` +
    `differ between methods (— : not set); the other ${shared} are the same for every method ` +
    `(seeds aside).</p>`;
}

/** A config value for a table cell: strings bare, everything else as JSON. */
function displayConfigValue(json: string): string {
  const v = JSON.parse(json);
  return typeof v === "string" ? v : json;
}

/** Top-level keys (nodes) whose value is not the same in every config. */
function varyingNodes(configs: (JsonValue | null)[]): string[] {
  const objects = configs.filter((c): c is Record<string, JsonValue> =>
    c !== null && typeof c === "object" && !Array.isArray(c)
  ) as Record<string, JsonValue | undefined>[];
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  return keys.filter((k) => {
    const texts = objects.map((o) => o[k] === undefined ? "" : canonicalJson(o[k]));
    return texts.some((t) => t !== texts[0]);
  });
}

function trialsHtml(trials: readonly ReportTrial[], table: ComparisonTable): string {
  if (trials.length === 0) return note("No trials.");
  const head = ["trial", "seed", "status", "time", ...table.metrics].map((h, i) =>
    `<th${i === 0 || i === 2 ? ' class="left"' : ""}>${esc(h)}</th>`
  );
  const rows = trials.map((t) =>
    `<tr><td class="left"><code>${esc(t.label)}</code></td><td>${t.seed}</td>` +
    `<td class="left status-${esc(t.status)}">${esc(t.status)}</td>` +
    `<td class="time">${
      t.status === "cached" ? "cached" : formatSeconds(trialSeconds(t) ?? NaN)
    }</td>` +
    table.metrics.map((m) =>
      m in t.metrics ? `<td>${formatNumber(t.metrics[m])}</td>` : `<td class="na">—</td>`
    ).join("") + "</tr>"
  );
  return `<details><summary>${trials.length} trial${trials.length === 1 ? "" : "s"}</summary>` +
    `<div class="scroll"><table class="trials">\n<thead><tr>${head.join("")}</tr></thead>\n` +
    `<tbody>\n${rows.join("\n")}\n</tbody></table></div></details>`;
}

function legend(methods: MethodInfo[]): string {
  return `<ul class="legend">${
    methods.map((m) =>
      m.row.reference
        ? `<li>${swatch(m.color, true)}reference: ${esc(m.name)}</li>`
        : `<li>${swatch(m.color)}${esc(m.name)}</li>`
    ).join("")
  }</ul>`;
}

// ---------------------------------------------------------------------------------------------
// Charts (inline SVG)

const CHART_WIDTH = 860;
const FONT_PX = 12;
/** Rough width of one character of the chart font, for label layout. */
const CHAR_PX = 6.6;

/** One method in a dot plot: its seeds' values and their mean ± std. */
interface DotEntry {
  name: string;
  /** The x position's label (entries sharing it sit side by side). */
  group: string;
  /** The colour's meaning when colours encode further sweep axes. */
  series?: string;
  color: string;
  mean: number;
  std: number | null;
  points: { seed: number; value: number }[];
  best: boolean;
  tie: boolean;
}

interface DotPlotSpec {
  id: string;
  /** The chart's accessible name. */
  label: string;
  /** The y-axis quantity. */
  metric: string;
  entries: DotEntry[];
  /** Horizontal dashed lines (references). */
  references: { name: string; color: string; mean: number; std: number | null }[];
}

/**
 * A dot plot: per entry, every seed's value as a small dot, the mean as a bar with ± std
 * whiskers; entries of one group side by side. The y-axis spans the data (not 0): a zoomed axis
 * is said in its title and marked with a break at its foot. References lie across as dashed
 * lines when they fit the range without stretching it more than twice, else they are named at
 * the plot's edge (`offAxis`).
 */
function dotPlot(spec: DotPlotSpec): {
  svg: string;
  zoomed: boolean;
  range: string;
  offAxis: string[];
} {
  const groups = [...new Set(spec.entries.map((e) => e.group))];
  const slot = (CHART_WIDTH - 64 - 16) / Math.max(groups.length, 1);
  const longest = Math.max(...groups.map((g) => g.length), 1);
  const rotate = longest * CHAR_PX > slot - 6;
  const maxChars = rotate ? 28 : longest;
  const labelPx = rotate ? Math.min(longest, maxChars) * CHAR_PX * 0.71 + 16 : 22;
  const m = { left: 64, right: 16, top: 24, bottom: 28 + labelPx };
  const height = 260 + m.top + m.bottom;
  const plotH = height - m.top - m.bottom;
  const values = spec.entries.flatMap((e) => [
    ...e.points.map((p) => p.value),
    ...(Number.isFinite(e.mean)
      ? [e.mean - (finite(e.std) ?? 0), e.mean + (finite(e.std) ?? 0)]
      : []),
  ]);
  let lo = values.length > 0 ? Math.min(...values) : 0;
  let hi = values.length > 0 ? Math.max(...values) : 1;
  const span = Math.max(hi - lo, Math.abs(hi) * 0.02, 1e-9);
  const shown = spec.references.filter((r) =>
    Number.isFinite(r.mean) && Math.max(hi, r.mean) - Math.min(lo, r.mean) <= 2 * span
  );
  for (const r of shown) {
    lo = Math.min(lo, r.mean);
    hi = Math.max(hi, r.mean);
  }
  const pad = Math.max(hi - lo, span) * 0.08;
  const ticks = niceTicks(lo - pad, hi + pad);
  const y0 = ticks[0];
  const y1 = ticks[ticks.length - 1];
  const zoomed = y0 > 0 || y1 < 0;
  const y = (v: number) => m.top + (y1 - v) / (y1 - y0) * plotH;
  const parts: string[] = [];
  parts.push(...yGrid(ticks, y, m.left, CHART_WIDTH - m.right, (v) => formatTick(v)));
  parts.push(
    axisTitle(`${spec.metric}${zoomed ? " (zoomed, not from 0)" : ""}`, m.top + plotH / 2),
    `<line class="axis" x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}"/>`,
    `<line class="axis" x1="${m.left}" y1="${m.top + plotH}" x2="${CHART_WIDTH - m.right}" ` +
      `y2="${m.top + plotH}"/>`,
  );
  if (zoomed) {
    // An axis break at the foot: two slanted strokes across the y-axis.
    const by = m.top + plotH - 10;
    parts.push(
      `<g class="axis-break"><rect x="${m.left - 6}" y="${by - 4}" width="12" height="8" ` +
        `fill="#fff"/><line x1="${m.left - 6}" y1="${by + 1}" x2="${m.left + 6}" y2="${by - 3}"/>` +
        `<line x1="${m.left - 6}" y1="${by + 5}" x2="${m.left + 6}" y2="${by + 1}"/></g>`,
    );
  }
  groups.forEach((g, gi) => {
    const members = spec.entries.filter((e) => e.group === g);
    const cx = m.left + slot * (gi + 0.5);
    const label = g.length > maxChars ? `${g.slice(0, maxChars - 1)}…` : g;
    const ly = m.top + plotH + 16;
    parts.push(
      rotate
        ? `<text class="xlabel" x="${r(cx)}" y="${r(ly)}" text-anchor="end" ` +
          `transform="rotate(-45 ${r(cx)} ${r(ly)})">${esc(label)}<title>${esc(g)}</title></text>`
        : `<text class="xlabel" x="${r(cx)}" y="${r(ly)}" text-anchor="middle">${esc(label)}` +
          `<title>${esc(g)}</title></text>`,
    );
    const width = slot * 0.8;
    members.forEach((e, k) => {
      const ex = cx - width / 2 + width * (k + 0.5) / members.length;
      const half = Math.min(width / members.length * 0.35, 16);
      const what = e.series ? `${e.group}, ${e.series}` : e.name;
      if (!Number.isFinite(e.mean)) {
        parts.push(
          `<text class="value" x="${r(ex)}" y="${r(m.top + plotH - 6)}" text-anchor="middle">` +
            `n/a</text>`,
        );
        return;
      }
      const std = finite(e.std);
      if (std !== null) {
        const [t, b] = [y(e.mean + std), y(e.mean - std)];
        parts.push(
          `<line class="err" x1="${r(ex)}" y1="${r(t)}" x2="${r(ex)}" y2="${r(b)}"/>`,
          `<line class="cap" x1="${r(ex - 4)}" y1="${r(t)}" x2="${r(ex + 4)}" y2="${r(t)}"/>`,
          `<line class="cap" x1="${r(ex - 4)}" y1="${r(b)}" x2="${r(ex + 4)}" y2="${r(b)}"/>`,
        );
      }
      e.points.forEach((p, i) => {
        const dx = e.points.length > 1 ? (i / (e.points.length - 1) - 0.5) * half * 1.4 : 0;
        parts.push(
          `<circle class="seed-point" data-method="${esc(what)}" cx="${r(ex + dx)}" ` +
            `cy="${r(y(p.value))}" r="3.2" fill="${e.color}"><title>${
              esc(`${what}, seed ${p.seed}: ${formatNumber(p.value)}`)
            }</title></circle>`,
        );
      });
      const tip = `${what}: mean ${formatNumber(e.mean)}${
        std === null ? "" : ` ± ${formatNumber(std)}`
      } over ${e.points.length} seed${e.points.length === 1 ? "" : "s"}`;
      parts.push(
        `<line class="mean${e.best ? " best" : ""}" data-method="${esc(what)}" x1="${
          r(ex - half)
        }" y1="${r(y(e.mean))}" x2="${r(ex + half)}" y2="${r(y(e.mean))}" stroke="${e.color}">` +
          `<title>${esc(tip)}</title></line>`,
      );
      const top = Math.min(y(e.mean + (std ?? 0)), ...e.points.map((p) => y(p.value)));
      parts.push(
        `<text class="value${e.best ? " best" : ""}" x="${r(ex)}" y="${r(top - 6)}" ` +
          `text-anchor="middle">${esc(formatNumber(e.mean))}${
            e.best ? " *" : e.tie ? " ≈" : ""
          }</text>`,
      );
    });
  });
  // References, top to bottom; a label too close to the one above goes under its line.
  let lastLabel = -Infinity;
  for (const l of [...shown].sort((a, b) => b.mean - a.mean)) {
    const ly = y(l.mean);
    const std = finite(l.std);
    const text = `${l.name}: ${formatNumber(l.mean)}${
      std === null ? "" : ` ± ${formatNumber(std)}`
    }`;
    const labelY = ly - 4 - lastLabel < 13 ? ly + 13 : ly - 4;
    lastLabel = labelY;
    parts.push(
      `<line class="refline" data-method="${esc(l.name)}" x1="${m.left}" y1="${r(ly)}" ` +
        `x2="${CHART_WIDTH - m.right}" y2="${r(ly)}" stroke="${l.color}"><title>${
          esc(`reference ${text}`)
        }</title></line>`,
      `<text class="reflabel" x="${CHART_WIDTH - m.right - 4}" y="${r(labelY)}" ` +
        `text-anchor="end" fill="${l.color}" stroke="#fff" stroke-width="3" ` +
        `paint-order="stroke">${esc(text)}</text>`,
    );
  }
  const offAxis = spec.references.filter((l) => !shown.includes(l) && Number.isFinite(l.mean));
  offAxis.forEach((l, i) => {
    const above = l.mean > y1;
    parts.push(
      `<text class="reflabel off-axis" x="${CHART_WIDTH - m.right - 4}" y="${
        r(above ? m.top + 12 + 13 * i : m.top + plotH - 6 - 13 * i)
      }" text-anchor="end" fill="${l.color}">${
        esc(`${above ? "↑" : "↓"} ${l.name}: ${formatNumber(l.mean)}`)
      }</text>`,
    );
  });
  return {
    svg: svg(spec.id, height, spec.label, parts),
    zoomed,
    range: `${formatTick(y0)}–${formatTick(y1)}`,
    offAxis: offAxis.map((l) =>
      `${l.name} ${formatNumber(l.mean)} (${l.mean > y1 ? "above" : "below"})`
    ),
  };
}

interface LinePoint {
  x: number;
  y: number;
  std: number | null;
}

interface LineSeries {
  name: string;
  color: string;
  /** Drawn dashed, without a band (a reference). */
  dashed?: boolean;
  points: LinePoint[];
}

interface LineChartSpec {
  id: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** x positions with a tick label. */
  xTicks: number[];
  xLog?: boolean;
  yLog?: boolean;
}

/** Lines with markers and a ± std band per series; NaN points break the line. */
function lineChart(spec: LineChartSpec): string {
  const m = { left: 64, right: 20, top: 16, bottom: 44 };
  const height = 300;
  const plotW = CHART_WIDTH - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const points = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const xs = spec.xTicks.length > 0 ? spec.xTicks : points.map((p) => p.x);
  const parts: string[] = [];
  if (points.length === 0) {
    parts.push(
      `<text class="value" x="${CHART_WIDTH / 2}" y="${height / 2}" text-anchor="middle">` +
        `no finite values</text>`,
    );
    return svg(spec.id, height, spec.yLabel, parts);
  }
  const xScale = axisScale(Math.min(...xs), Math.max(...xs), m.left, m.left + plotW, !!spec.xLog);
  const spread = points.flatMap((p) => {
    const s = finite(p.std) ?? 0;
    return spec.yLog ? [p.y] : [p.y - s, p.y + s];
  });
  let yTicks: number[];
  if (spec.yLog) {
    yTicks = logTicks(Math.min(...spread), Math.max(...spread));
  } else {
    const lo = Math.min(...spread);
    const hi = Math.max(...spread);
    const pad = hi > lo ? 0.05 * (hi - lo) : Math.abs(lo) * 0.1 || 1;
    yTicks = niceTicks(lo - pad, hi + pad);
  }
  const yScale = axisScale(yTicks[0], yTicks[yTicks.length - 1], m.top + plotH, m.top, !!spec.yLog);
  parts.push(...yGrid(yTicks, yScale, m.left, m.left + plotW, formatTick));
  for (const t of spec.xTicks) {
    parts.push(
      `<line class="tick" x1="${r(xScale(t))}" y1="${m.top + plotH}" x2="${r(xScale(t))}" ` +
        `y2="${m.top + plotH + 4}"/>`,
      `<text class="tick" x="${r(xScale(t))}" y="${m.top + plotH + 17}" text-anchor="middle">` +
        `${esc(formatTick(t))}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" ` +
      `y2="${m.top + plotH}"/>`,
    `<text class="axis-title" x="${m.left + plotW / 2}" y="${height - 6}" text-anchor="middle">` +
      `${esc(spec.xLabel)}${spec.xLog ? " (log scale)" : ""}</text>`,
    axisTitle(spec.yLabel, m.top + plotH / 2),
  );
  const [yMin, yMax] = [yTicks[0], yTicks[yTicks.length - 1]];
  const clampY = (v: number) => yScale(Math.min(Math.max(v, yMin), yMax));
  for (const s of spec.series) {
    const segments = splitFinite(s.points);
    for (const seg of segments) {
      const withStd = seg.filter((p) => finite(p.std) !== null);
      if (!s.dashed && withStd.length === seg.length && seg.length > 1) {
        const upper = seg.map((p) => `${r(xScale(p.x))},${r(clampY(p.y + p.std!))}`);
        const lower = seg.map((p) => `${r(xScale(p.x))},${r(clampY(p.y - p.std!))}`).reverse();
        parts.push(
          `<polygon class="band" fill="${s.color}" points="${[...upper, ...lower].join(" ")}"/>`,
        );
      }
      parts.push(
        `<polyline class="series${s.dashed ? " reference" : ""}" data-method="${
          esc(s.name)
        }" stroke="${s.color}" points="${
          seg.map((p) => `${r(xScale(p.x))},${r(yScale(p.y))}`).join(" ")
        }"/>`,
      );
    }
    for (const p of s.points.filter((p) => Number.isFinite(p.y))) {
      const std = finite(p.std);
      const tip = `${s.name}: ${spec.xLabel} ${formatTick(p.x)} → ${formatNumber(p.y)}` +
        (std === null ? "" : ` ± ${formatNumber(std)}`);
      parts.push(
        `<circle class="marker" cx="${r(xScale(p.x))}" cy="${r(yScale(p.y))}" r="3.5" ` +
          `fill="${s.color}"><title>${esc(tip)}</title></circle>`,
      );
    }
  }
  return svg(spec.id, height, spec.yLabel, parts);
}

function svg(id: string, height: number, label: string, parts: string[]): string {
  return `<svg class="chart" id="${id}" xmlns="http://www.w3.org/2000/svg" role="img" ` +
    `aria-label="${esc(label)}" width="${CHART_WIDTH}" height="${r(height)}" ` +
    `viewBox="0 0 ${CHART_WIDTH} ${r(height)}" font-size="${FONT_PX}">\n` +
    `${parts.join("\n")}\n</svg>`;
}

function yGrid(
  ticks: number[],
  y: (v: number) => number,
  x0: number,
  x1: number,
  label: (v: number) => string,
): string[] {
  return ticks.flatMap((t) => [
    `<line class="grid" x1="${x0}" y1="${r(y(t))}" x2="${x1}" y2="${r(y(t))}"/>`,
    `<text class="tick" x="${x0 - 6}" y="${r(y(t) + 4)}" text-anchor="end">${esc(label(t))}</text>`,
  ]);
}

function axisTitle(text: string, yMid: number): string {
  return `<text class="axis-title" x="14" y="${r(yMid)}" text-anchor="middle" ` +
    `transform="rotate(-90 14 ${r(yMid)})">${esc(text)}</text>`;
}

/** Maps [d0, d1] onto [r0, r1], linearly or in log10; a zero-width domain maps to the middle. */
function axisScale(d0: number, d1: number, r0: number, r1: number, log: boolean) {
  const f = log ? Math.log10 : (v: number) => v;
  const [a, b] = [f(d0), f(d1)];
  return (v: number) => (b === a ? (r0 + r1) / 2 : r0 + (f(v) - a) / (b - a) * (r1 - r0));
}

/** About five evenly spaced round ticks (steps of 1, 2 or 5 × 10ⁿ) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9);
  const end = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = start; i <= end; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/**
 * Powers of ten covering [lo, hi] (lo > 0): every k-th decade for at most ~8 ticks, the top
 * extended to a whole step; 2 and 5 in between when the range is at most 2 decades.
 */
function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const decades = Math.max(Math.ceil(Math.log10(hi)) - a, 1);
  const step = Math.ceil(decades / 8);
  const b = a + Math.ceil(decades / step) * step;
  const ticks: number[] = [];
  for (let e = a; e <= b; e += step) {
    ticks.push(Number((10 ** e).toPrecision(12)));
    if (decades <= 2 && e < b) ticks.push(Number((2 * 10 ** e).toPrecision(12)));
    if (decades <= 2 && e < b) ticks.push(Number((5 * 10 ** e).toPrecision(12)));
  }
  return ticks;
}

/** Integer ticks (at most ~10) from lo to hi. */
function integerTicks(lo: number, hi: number): number[] {
  const step = Math.max(1, Math.ceil((hi - lo) / 10));
  const ticks: number[] = [];
  for (let v = lo; v <= hi; v += step) ticks.push(v);
  return ticks;
}

function splitFinite(points: LinePoint[]): LinePoint[][] {
  const segments: LinePoint[][] = [[]];
  for (const p of points) {
    if (Number.isFinite(p.y)) segments[segments.length - 1].push(p);
    else if (segments[segments.length - 1].length > 0) segments.push([]);
  }
  return segments.filter((s) => s.length > 0);
}

function finite(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/** Rounds a pixel coordinate to 2 decimals for compact SVG. */
function r(v: number): string {
  return String(Math.round(v * 100) / 100);
}

// ---------------------------------------------------------------------------------------------
// Text formatting

/** Wall seconds from a trial's start to its end, for a trial this run computed. */
function trialSeconds(t: ReportTrial): number | undefined {
  if (t.status === "cached" || !t.started || !t.finished) return undefined;
  const s = (Date.parse(t.finished) - Date.parse(t.started)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** `0.8 s`, `42 s`, `3m05s`; `—` when unknown. */
function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
    : `${m}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
}

/** A metric value: 4 decimals, fewer for large values, exponent for tiny or huge ones. */
function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
  return a >= 100 ? v.toFixed(1) : v.toFixed(4);
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

/** `2026-11-27 22:28 UTC` from an ISO string; other text unchanged (escaped). */
function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return esc(iso);
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

const CSS = `
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1f2328;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d8dee4; }
code, pre { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.meta { color: #59636e; margin: 2px 0; }
.note { color: #59636e; font-style: italic; }
.caption, figcaption { color: #59636e; font-size: 13px; margin: 6px 0; }
figure { margin: 0 0 18px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; text-align: right; border-bottom: 1px solid #e5e8eb; white-space: nowrap;
  vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; border-bottom: 2px solid #d0d7de; }
.left { text-align: left; }
td.method { white-space: normal; min-width: 8em; max-width: 22em; overflow-wrap: anywhere; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.best { background: #e6f4ea; }
td.tie { background: #f3f8f4; }
td.top { font-weight: 600; }
td.sig { color: #1a7f37; }
td.na { color: #8c959f; }
td.bad { color: #b42318; font-weight: 600; }
.pm { display: block; color: #59636e; font-size: 11.5px; line-height: 1.2; }
td.best .pm { color: inherit; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 7px;
  vertical-align: baseline; }
.swatch.reference { width: 14px; height: 0; border-radius: 0; border-top: 2px dashed; }
tr.reference-row td { background: #f3f4f6; color: #424a53; }
.tag { display: inline-block; font-size: 11px; line-height: 1.3; padding: 0 5px; margin-right: 4px;
  border: 1px solid #afb8c1; border-radius: 8px; color: #424a53; background: #fff; }
.legend { list-style: none; padding: 0; margin: 4px 0 2px; display: flex; flex-wrap: wrap;
  gap: 4px 18px; font-size: 13px; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .axis { stroke: #57606a; stroke-width: 1; }
svg .tick { fill: #57606a; stroke: #57606a; stroke-width: 0; font-size: 11px; }
svg line.tick { stroke-width: 1; }
svg .axis-title { fill: #1f2328; font-size: 12px; }
svg .xlabel { fill: #1f2328; font-size: 12px; }
svg .value { fill: #1f2328; font-size: 11px; }
svg .value.best { font-weight: 700; }
svg .mean { stroke-width: 4; stroke-linecap: round; }
svg .mean.best { stroke-width: 6; }
svg .seed-point { opacity: 0.55; stroke: none; }
svg .axis-break line { stroke: #57606a; stroke-width: 1.2; }
.legend-title { color: #59636e; }
svg .err, svg .cap { stroke: #1f2328; stroke-width: 1.5; }
svg .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg .series.reference, svg .refline { stroke-dasharray: 6 4; }
svg .refline { stroke-width: 2; }
svg .reflabel { font-size: 11px; }
svg .band { opacity: 0.14; stroke: none; }
svg .marker { stroke: #fff; stroke-width: 1; }
.gallery-query { margin: 10px 0 16px; }
.gq-head { margin: 4px 0; display: flex; align-items: center; gap: 8px; }
table.gallery td { padding: 3px 8px; }
td.thumbs { white-space: nowrap; }
td.hits { color: #59636e; }
.thumb { display: inline-block; width: 28px; height: 28px; margin-right: 3px; background-size: cover;
  image-rendering: pixelated; border: 2px solid transparent; position: relative;
  vertical-align: middle; }
.thumb.query { width: 42px; height: 42px; border-color: #1f2328; }
.thumb.hit { border-color: #1a7f37; }
.thumb.miss { border-color: #cf222e; }
.thumb.miss::after { content: "×"; position: absolute; top: -7px; right: -1px; color: #cf222e;
  font-weight: 700; font-size: 12px; text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.failed pre.reason { margin: 0; white-space: pre-wrap; word-break: break-word; max-width: 640px;
  color: #b42318; }
details { margin: 6px 0; }
details > summary { cursor: pointer; padding: 4px 0; }
pre.config { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 10px 12px;
  overflow-x: auto; margin: 4px 0 12px; }
.status-failed { color: #b42318; }
footer { margin-top: 40px; color: #8c959f; font-size: 12px; }
`;
