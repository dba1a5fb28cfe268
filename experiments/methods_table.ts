/**
 * The methods table of docs/results.md from a run of `experiments/methods_mnist.yaml` or
 * `methods_fashion_mnist.yaml`: one row per method and reference with mAP, P@10, P@100, accuracy
 * (in %) and QMI (×100) as mean ± sample std over seeds, bold = best / ≈ = tied for best exactly as
 * `kt results` marks them (its paired t-test), and each seed's mAP. Every figure is read from the
 * run's results.sqlite; nothing is typed in by hand.
 *
 *   deno run -A experiments/methods_table.ts runs/methods-mnist
 *   deno run -A experiments/methods_table.ts runs/methods-mnist --into docs/results.md
 *
 * With `--into FILE` the table replaces what stands between `<!-- <experiment>:start -->` and
 * `<!-- <experiment>:end -->` in FILE (the markers must exist; nothing else is touched).
 * @module
 */
import { KtError } from "../src/errors.ts";
import { readLatestRun, type TrialRow } from "../src/results.ts";
import {
  comparisonTable,
  isFinished,
  type MethodRow,
  type MetricStats,
  trialKeys,
} from "../src/table.ts";

/** Column → (metric name in results.sqlite, scale). */
const COLUMNS: [string, string, number][] = [
  ["mAP %", "mAP", 100],
  ["P@10 %", "P@10", 100],
  ["P@100 %", "P@100", 100],
  ["accuracy %", "accuracy", 100],
  ["QMI ×100", "qmi", 100],
];

const NAMES: Record<string, string> = {
  pkt: "PKT",
  fitnets: "FitNets",
  rkd: "RKD",
  sp: "SP",
  at: "AT",
  nst: "NST",
  vid: "VID",
  cc: "CC",
  crd: "CRD",
  dkd: "DKD",
  dist: "DIST",
  none: "`none` (5 more CE epochs)",
};

/** `pool1, pool2, pool3` → `pool1-3`; any other list joined by commas. */
function layers(names: string[]): string {
  const m = names.map((n) => /^([a-z]+)(\d+)$/.exec(n));
  const consecutive = m.every((x, i) =>
    x && x[1] === m[0]![1] && Number(x[2]) === Number(m[0]![2]) + i
  );
  return consecutive && names.length > 1
    ? `${m[0]![1]}${m[0]![2]}-${m[m.length - 1]![2]}`
    : names.join(", ");
}

/** A method row's label for the docs: the method's name, its form or the layers it reads. */
export function methodLabel(method: unknown): string {
  if (typeof method === "string") return NAMES[method] ?? method;
  const m = method as Record<string, unknown>;
  const use = String(m.use);
  if (use === "hinton") return `Hinton KD, ${m.form ?? "library"} form`;
  const at = (m.studentLayers as string[] | undefined) ??
    (m.studentLayer ? [m.studentLayer as string] : undefined);
  const name = NAMES[use] ?? use;
  return at ? `${name} (${layers(at)})` : name;
}

function cell(s: MetricStats | undefined, scale: number): string {
  if (!s) return "—";
  const v = s.std === null
    ? (scale * s.mean).toFixed(2)
    : `${(scale * s.mean).toFixed(2)} ± ${(scale * s.std).toFixed(2)}`;
  return s.best ? `**${v}**` : s.tie ? `${v} ≈` : v;
}

/** The markdown table of a methods run. */
export function methodsTable(trials: TrialRow[]): string {
  const table = comparisonTable(trials);
  // Each row's mAP by seed, for the last column: methods by their parameters, the plain student
  // from the references each trial recorded.
  const perSeed = new Map<string, Map<number, number>>();
  const put = (row: string, seed: number, v: number | undefined) => {
    if (v === undefined) return;
    const m = perSeed.get(row) ?? new Map<number, number>();
    m.set(seed, v);
    perSeed.set(row, m);
  };
  for (const t of trials) {
    if (!isFinished(t.status)) continue;
    put(trialKeys(t).method, t.seed, t.metrics.mAP);
    for (const r of t.references) {
      if (!r.label.startsWith("teacher")) put(r.label, t.seed, r.metrics.mAP);
    }
  }
  const seeds = [...new Set(trials.map((t) => t.seed))].sort((a, b) => a - b);
  const label = (row: MethodRow) =>
    row.reference ? row.method : methodLabel(row.params.method ?? row.method);
  const lines = [
    `| method | ${COLUMNS.map((c) => c[0]).join(" | ")} | mAP % per seed (${seeds.join(" / ")}) |`,
    `| --- |${" ---: |".repeat(COLUMNS.length)} --- |`,
  ];
  for (const row of table.rows) {
    const key = row.reference
      ? row.method.replace(/^reference: /, "")
      : trialKeys({ params: row.params }).method;
    const bySeed = perSeed.get(key);
    const seedCells = bySeed && bySeed.size > 1
      ? seeds.map((s) => bySeed.has(s) ? (100 * bySeed.get(s)!).toFixed(2) : "—").join(" / ")
      : "";
    lines.push(
      `| ${label(row)} | ${
        COLUMNS.map(([, m, k]) => cell(row.metrics[m], k)).join(" | ")
      } | ${seedCells} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const i = args.indexOf("--into");
  const into = i >= 0 ? args.splice(i, 2)[1] : undefined;
  const [runDir] = args;
  if (!runDir || (i >= 0 && !into)) {
    console.error("usage: methods_table.ts <run dir> [--into docs/results.md]");
    Deno.exit(2);
  }
  let latest: ReturnType<typeof readLatestRun>;
  try {
    latest = readLatestRun(runDir);
  } catch (e) {
    console.error(e instanceof KtError ? e.format() : String(e));
    Deno.exit(2);
  }
  const { run, trials } = latest;
  const md = methodsTable(trials);
  const done = trials.filter((t) => isFinished(t.status)).length;
  const footer = `\n\n(${done} of ${trials.length} trials finished; kt ${
    run.ktCommit?.slice(0, 7) ?? "commit unknown"
  }, generated by \`deno run -A experiments/methods_table.ts ${
    runDir.replace(/^.*\/(runs\/[^/]+)\/?$/, "$1")
  }\`.)`;
  if (!into) {
    console.log(md + footer);
  } else {
    const text = await Deno.readTextFile(into);
    const start = `<!-- ${run.experiment}:start -->`;
    const end = `<!-- ${run.experiment}:end -->`;
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a < 0 || b < a) {
      console.error(`${into}: no "${start}" … "${end}" markers to put the table between`);
      Deno.exit(2);
    }
    await Deno.writeTextFile(
      into,
      `${text.slice(0, a + start.length)}\n\n${md}${footer}\n\n${text.slice(b)}`,
    );
    console.log(`${into}: table of ${run.experiment} (${done} trials) written`);
  }
}
