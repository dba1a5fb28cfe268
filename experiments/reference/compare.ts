/**
 * kt beside the PyTorch reference, cell by cell: reads a kt run directory (results.sqlite of
 * `deno task sweep experiments/mnist_pkt.yaml`, or of `methods_mnist.yaml`, whose teacher, plain
 * student and paper methods are the same nodes) and the `--json` file of `pkt_protocol.py` for the
 * same protocol, prints one markdown table (teacher, plain student, every method; mAP / P@10 /
 * P@100 / accuracy as mean ± std over seeds, kt | PyTorch | Δ) and checks issue 11's targets:
 * every kt mAP cell within 0.5 points of PyTorch's or above it; PKT first on mAP among the
 * methods, on the mean and for every seed, in both implementations.
 *
 *   deno run -A experiments/reference/compare.ts runs/mnist-pkt /tmp/torch_mnist.json
 *
 * Exit code 0 when every target holds, 1 otherwise (the table is printed either way).
 * @module
 */
import { KtError } from "../../src/errors.ts";
import { isFinished } from "../../src/table.ts";
import { readLatestRun, type ReferenceRow, type TrialRow } from "../../src/results.ts";

interface TorchStats {
  mean: number;
  std: number;
}
export interface TorchRow {
  name?: string;
  seeds?: number[];
  perSeed: Record<string, number>[];
  summary: Record<string, TorchStats>;
}
interface TorchJson {
  dataset: string;
  torch: string;
  teacher: TorchRow;
  rows: Record<string, TorchRow>;
  totalSeconds: number;
  /** false while pkt_protocol.py is still running (it writes the file after every seed). */
  complete?: boolean;
}

/** A row of values per seed (seed → metric → value). */
export type Cells = Map<number, Record<string, number>>;

const METRICS = ["mAP", "P@10", "P@100", "accuracy"];

/** kt's method parameter as pkt_protocol.py's method name. */
export function torchName(method: unknown): string {
  if (typeof method === "string") return method;
  const m = method as { use: string; form?: string };
  return m.form ? `${m.use}-${m.form}` : m.use;
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1
    ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
    : 0;
  return { mean, std };
}

/** A cell in %: mean ± sample std, or the one value when there is one (no spread to show). */
const pct = (x: { mean: number; std: number }, n: number) =>
  n > 1 ? `${(100 * x.mean).toFixed(2)} ± ${(100 * x.std).toFixed(2)}` : (100 * x.mean).toFixed(2);

/** kt's rows: teacher, plain student and each method, by seed. */
export function ktRows(trials: TrialRow[]): Map<string, Cells> {
  const rows = new Map<string, Cells>();
  const teachers = new Map<number, ReferenceRow>();
  const put = (row: string, seed: number, metrics: Record<string, number>) => {
    const cells = rows.get(row) ?? new Map();
    cells.set(seed, metrics);
    rows.set(row, cells);
  };
  for (const t of trials) {
    if (!isFinished(t.status)) continue;
    for (const ref of t.references) {
      if (!ref.label.startsWith("teacher")) put("plain", t.seed, ref.metrics);
      else teachers.set(t.seed, ref);
    }
    put(torchName(t.params.method), t.seed, t.metrics);
  }
  // One teacher for every seed (the shipped files: one evaluation, one key) is one measurement,
  // shown once, at the lowest seed that measured it (0 in a full run, like PyTorch's one
  // teacher); a teacher per seed (`seed: ${seed}` on the teacher node, pkt_protocol.py
  // --paired-teachers) is one cell per seed — also when only one of its seeds has finished.
  const keys = new Set([...teachers.values()].map((r) => r.key));
  const seeds = [...teachers.keys()].sort((a, b) => a - b);
  for (const seed of keys.size > 1 ? seeds : seeds.slice(0, 1)) {
    put("teacher", seed, teachers.get(seed)!.metrics);
  }
  return rows;
}

export function torchCells(row: TorchRow): Cells {
  const seeds = row.seeds ?? [0];
  return new Map(row.perSeed.map((m, i) => [seeds[i], m]));
}

/** The side-by-side table, each row's mAP per seed, and the targets missed (empty: all hold). */
export interface Comparison {
  /** The markdown table, one line per string (header, rule, rows). */
  table: string[];
  /** Each row's mAP per seed, kt then PyTorch (one line each). */
  perSeed: string[];
  /** The targets that do not hold, one line each. */
  failures: string[];
  /** Rows kt ran that the reference does not implement (left out of table and targets). */
  ktOnly: string[];
}

/**
 * kt's rows beside PyTorch's (`dataset` names the table's first column): every kt mAP cell within
 * 0.5 points of PyTorch's or above it; PKT first on mAP among the methods (not the references),
 * on the mean and for every seed, in both implementations.
 */
export function compare(
  ktIn: Map<string, Cells>,
  pt: Map<string, Cells>,
  dataset: string,
): Comparison {
  const kt = new Map(ktIn);
  // A methods run has rows the reference script does not implement: they have no cell to
  // compare with, so they are named below the table and left out of the targets.
  const ktOnly = [...kt.keys()].filter((k) => !pt.has(k));
  for (const k of ktOnly) kt.delete(k);
  const order = [
    "teacher",
    "plain",
    ...[...kt.keys()].filter((k) => k !== "teacher" && k !== "plain"),
  ];
  const label = (r: string) => r === "plain" ? "plain student" : r;
  const table = [
    `| ${dataset} | ` + METRICS.map((m) => `${m} % kt | ${m} % PyTorch`).join(" | ") +
    " | Δ mAP | Δ mAP, same seeds |",
    "| --- |" + " ---: |".repeat(METRICS.length * 2 + 2),
  ];
  const failures: string[] = [];
  for (const r of order) {
    const a = kt.get(r);
    const b = pt.get(r);
    if (!a || !b) {
      failures.push(`${r}: missing in ${!a ? "kt" : "PyTorch"}`);
      continue;
    }
    const cells: string[] = [];
    for (const m of METRICS) {
      const ka = [...a.values()].map((v) => v[m]).filter((v) => v !== undefined);
      const kb = [...b.values()].map((v) => v[m]).filter((v) => v !== undefined);
      cells.push(
        ka.length ? pct(meanStd(ka), ka.length) : "—",
        kb.length ? pct(meanStd(kb), kb.length) : "—",
      );
    }
    const dm = meanStd([...a.values()].map((v) => v.mAP)).mean -
      meanStd([...b.values()].map((v) => v.mAP)).mean;
    if (dm < -0.005) {
      failures.push(`${label(r)}: kt mAP ${(100 * dm).toFixed(2)} points below PyTorch`);
    }
    // kt − PyTorch over the seeds both ran (one teacher each: its one run, as seed 0).
    const common = [...a.keys()].filter((seed) => b.has(seed));
    const paired = common.length
      ? (100 * meanStd(common.map((seed) => a.get(seed)!.mAP - b.get(seed)!.mAP)).mean).toFixed(2)
      : "—";
    table.push(`| ${label(r)} | ${cells.join(" | ")} | ${(100 * dm).toFixed(2)} | ${paired} |`);
  }

  // Each row's mAP on each seed, both implementations (the targets below read these); the
  // teacher's too when there is one per seed.
  const seedLine = (who: string, rows: Map<string, Cells>) => {
    const shown = order.filter((r) => rows.has(r) && (r !== "teacher" || rows.get(r)!.size > 1));
    const values = shown.map((r) =>
      `${label(r)} ${
        [...rows.get(r)!.entries()].sort((x, y) => x[0] - y[0])
          .map(([, v]) => (100 * v.mAP).toFixed(2)).join(" / ")
      }`
    );
    return `mAP % per seed, ${who} (seeds ${seedsOf(rows)}): ${values.join("; ")}.`;
  };
  const perSeed = [seedLine("kt", kt), seedLine("PyTorch", pt)];

  // PKT first among the methods (not the references), on the mean and for every seed.
  for (const [who, rows] of [["kt", kt], ["PyTorch", pt]] as const) {
    const methods = [...rows.keys()].filter((k) => k !== "teacher" && k !== "plain");
    if (methods.length === 0) continue;
    const mean = (k: string) => meanStd([...rows.get(k)!.values()].map((v) => v.mAP)).mean;
    const best = methods.reduce((x, y) => (mean(y) > mean(x) ? y : x));
    if (best !== "pkt") failures.push(`${who}: ${best} first on mean mAP, not pkt`);
    for (const seed of rows.get("pkt")?.keys() ?? []) {
      const at = (k: string) => rows.get(k)!.get(seed)?.mAP ?? -1;
      const top = methods.reduce((x, y) => (at(y) > at(x) ? y : x));
      if (top !== "pkt") failures.push(`${who}, seed ${seed}: ${top} first on mAP, not pkt`);
    }
  }
  return { table, perSeed, failures, ktOnly };
}

/** The seeds of a side's PKT row, comma-separated. */
export function seedsOf(rows: Map<string, Cells>): string {
  return [...(rows.get("pkt")?.keys() ?? [])].sort((a, b) => a - b).join(", ");
}

/** "one" teacher, or "one per seed (n)". */
export function teachers(rows: Map<string, Cells>): string {
  const n = rows.get("teacher")?.size ?? 0;
  return n > 1 ? `one per seed (${n})` : "one";
}

/** Stops with one line saying what is wrong (no stack trace). */
function fail(message: string): never {
  console.error(`compare.ts: ${message}`);
  Deno.exit(2);
}

async function main(runDir: string | undefined, torchFile: string | undefined): Promise<number> {
  if (!runDir || !torchFile) {
    console.error("usage: compare.ts <kt run dir> <pkt_protocol.py --json file>");
    return 2;
  }
  let latest: ReturnType<typeof readLatestRun>;
  try {
    latest = readLatestRun(runDir);
  } catch (e) {
    fail(e instanceof KtError ? e.format() : String(e));
  }
  const { run } = latest;
  const kt = ktRows(latest.trials);
  let torch: TorchJson;
  try {
    torch = JSON.parse(await Deno.readTextFile(torchFile)) as TorchJson;
    if (!torch.teacher || !torch.rows) throw new Error("it has no teacher and rows");
  } catch (e) {
    fail(
      `${torchFile} is not a pkt_protocol.py --json file: ${e instanceof Error ? e.message : e}`,
    );
  }
  // The shipped experiments are named <dataset>-pkt (the paper's methods) and methods-<dataset>
  // (every method on the same nodes): refuse to set one dataset beside another.
  const experimentDataset = run.experiment.replace(/^methods-/, "");
  if (experimentDataset !== torch.dataset && !experimentDataset.startsWith(`${torch.dataset}-`)) {
    fail(
      `${runDir} holds experiment "${run.experiment}", ${torchFile} the ${torch.dataset} ` +
        "protocol: compare runs of the same dataset",
    );
  }
  const pt = new Map<string, Cells>([["teacher", torchCells(torch.teacher)]]);
  for (const [name, row] of Object.entries(torch.rows)) pt.set(name, torchCells(row));
  const result = compare(kt, pt, torch.dataset);
  console.log(result.table.join("\n"));
  console.log("\n" + result.perSeed.join("\n"));
  console.log(
    `\nkt run ${run.id} of ${runDir} (kt ${run.ktCommit ?? "commit unknown"}, seeds ${
      seedsOf(kt)
    }); PyTorch ${torch.torch} (seeds ${seedsOf(pt)}${
      torch.complete === false ? ", run not finished" : ""
    }; ${(torch.totalSeconds / 60).toFixed(1)} min). Teachers: ${teachers(kt)} in kt, ${
      teachers(pt)
    } in PyTorch. ` +
      (result.ktOnly.length
        ? `Rows kt ran that the reference does not implement, left out: ${
          result.ktOnly.join(", ")
        }. `
        : "") +
      (result.failures.length === 0
        ? "Every target holds: each kt mAP within 0.5 points of PyTorch's or above; PKT first on mAP on the mean and every seed."
        : `Targets missed:\n- ${result.failures.join("\n- ")}`),
  );
  return result.failures.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args[0], Deno.args[1]));
