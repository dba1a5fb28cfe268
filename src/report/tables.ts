/**
 * The report's tables: the comparison, the paired tests behind its marks, the failed trials
 * and every trial.
 * @module
 */
import { type ComparisonTable, MIN_TEST_SEEDS } from "../table.ts";
import { formatP, significanceLegend } from "../table_format.ts";
import type { ReportTrial } from "./types.ts";
import { esc, formatNumber, formatSeconds, median } from "./format.ts";
import { labelCells, labelHeads, type MethodInfo, methodsOf, note } from "./parts.ts";

const REASON_LIMIT = 4000;

/** The comparison table: mean ± std per metric, best and ties marked, time per trial. */
export function comparisonHtml(table: ComparisonTable, methods: MethodInfo[]): string {
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
export function significanceHtml(table: ComparisonTable, rows: MethodInfo[]): string {
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

/** The failed trials with their reasons (long ones cut), and how many did not finish. */
export function failedHtml(trials: readonly ReportTrial[]): string {
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

/** Every trial with its status, time and metrics (folded). */
export function trialsHtml(trials: readonly ReportTrial[], table: ComparisonTable): string {
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

/** Wall seconds from a trial's start to its end, for a trial this run computed. */
function trialSeconds(t: ReportTrial): number | undefined {
  if (t.status === "cached" || !t.started || !t.finished) return undefined;
  const s = (Date.parse(t.finished) - Date.parse(t.started)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}
