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
import { KT_VERSION } from "./version.ts";
import { canonicalJson, type JsonValue } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { writeFileAtomic } from "./io/files.ts";
import { type EpochPoint, openResults, requireResults, type TrialRow } from "./results.ts";
import { comparisonTable } from "./table.ts";
import type { Gallery } from "./gallery.ts";
import type { ReportInput, ReportTrial } from "./report/types.ts";
import { esc, formatDate } from "./report/format.ts";
import { CSS } from "./report/style.ts";
import { describeRows, isFinished, methodsOf, section } from "./report/parts.ts";
import { comparisonHtml, failedHtml, significanceHtml, trialsHtml } from "./report/tables.ts";
import {
  galleryHtml,
  mapChartHtml,
  mapChartTitle,
  precisionChartHtml,
} from "./report/retrieval.ts";
import { evalSection, lossChartsHtml } from "./report/curves.ts";
import { configHtml } from "./report/config.ts";

export type { ReportInput, ReportRun, ReportTrial } from "./report/types.ts";
export { escapeHtml } from "./report/format.ts";
export { mapChartTitle, retrievalPrefix } from "./report/retrieval.ts";

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
    const t = m.trials.filter((t) => isFinished(t.status)).sort((a, b) => a.seed - b.seed)[0];
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

function withCurves(t: TrialRow, curves: EpochPoint[]): ReportTrial {
  return { ...t, curves };
}

function configKey(config: JsonValue | null): string {
  return config === null ? "" : canonicalJson(config);
}

function statusCounts(trials: readonly ReportTrial[]): string {
  const counts = new Map<string, number>();
  for (const t of trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const parts = [...counts].map(([s, n]) => `${n} ${s}`);
  return `${trials.length} trial${trials.length === 1 ? "" : "s"}${
    parts.length ? `: ${parts.join(", ")}` : ""
  }`;
}
