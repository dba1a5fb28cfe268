import assert from "node:assert/strict";
import { join } from "node:path";
import { compareRuns, sourceLabels } from "./compare.ts";
import { formatTable } from "./table_format.ts";
import type { TrialResult } from "./table.ts";
import { KtError } from "./errors.ts";
import { openResults } from "./results.ts";
import { runCli } from "./cli.ts";

/** Trials of `method` → mAP per seed (and accuracy 0.5), with a teacher reference. */
function trials(values: Record<string, number[]>, teacher = 0.95): TrialResult[] {
  return Object.entries(values).flatMap(([method, vs]) =>
    vs.map((mAP, seed): TrialResult => ({
      params: { method },
      seed,
      status: "done",
      metrics: { mAP, accuracy: 0.5 },
      references: [{ label: "teacher", key: `T${teacher}`, metrics: { mAP: teacher } }],
    }))
  );
}

// MNIST: pkt beats none by 0.10 on every seed (p = 0): best. Fashion: pkt and none within noise.
const MNIST = trials({ pkt: [0.90, 0.91, 0.92], none: [0.80, 0.81, 0.82] });
const FASHION = trials({ none: [0.60, 0.62, 0.61], pkt: [0.61, 0.60, 0.62], hinton: [0.5] }, 0.7);

Deno.test("compareRuns() puts the runs side by side: a column per run, rows matched by method", () => {
  const t = compareRuns([
    { label: "mnist", experiment: "mnist-pkt", trials: MNIST },
    { label: "fashion", experiment: "fashion-pkt", trials: FASHION },
  ]);
  assert.deepEqual(t.axes, ["method"]);
  assert.deepEqual(t.metrics, ["mAP · mnist", "mAP · fashion"]);
  assert.deepEqual(t.rows.map((r) => [r.method, r.seeds]), [
    ["reference: teacher", 1],
    ["method=pkt", 3],
    ["method=none", 3],
    ["method=hinton", 1],
  ]);
  const [teacher, pkt, none, hinton] = t.rows;
  assert.equal(teacher.metrics["mAP · mnist"].mean, 0.95);
  assert.equal(teacher.metrics["mAP · fashion"].mean, 0.7);
  // Each run's own significance: pkt best on MNIST; on Fashion hinton has one seed: no test.
  assert.equal(pkt.metrics["mAP · mnist"].best, true);
  assert.equal(none.metrics["mAP · mnist"].best, false);
  assert.equal(t.tests["mAP · mnist"].verdict, "best");
  assert.equal(t.tests["mAP · fashion"].verdict, "n/a");
  assert.equal(hinton.metrics["mAP · mnist"], undefined);
  // Different experiments: no change columns.
  assert.deepEqual(t.pColumns, []);
  const md = formatTable(t, "markdown").split("\n");
  assert.equal(md[0], "| method | seeds | failed | mAP · mnist | mAP · fashion |");
  assert.equal(md[3], "| pkt | 3 | 0 | **0.910 ± 0.010** | 0.610 ± 0.010 |");
  assert.equal(md[5], "| hinton | 1 | 0 | n/a | 0.5000 ± — |");
});

Deno.test("two runs of one experiment get each method's change with a paired test over seeds", () => {
  // pkt: after − before = 0.02, 0.01, 0.03 → +0.020 ± 0.010, t = 2√3, df 2,
  // p = 1 − 2√3/√14 = 0.0742; none: unchanged (p = 1).
  const before = trials({ pkt: [0.80, 0.82, 0.85], none: [0.7, 0.7, 0.7] });
  const after = trials({ pkt: [0.82, 0.83, 0.88], none: [0.7, 0.7, 0.7] });
  const labels = sourceLabels([
    { experiment: "quick", runDir: "runs/quick", runId: 1 },
    { experiment: "quick", runDir: "runs/quick", runId: 2 },
  ]);
  assert.deepEqual(labels, ["quick#1", "quick#2"]);
  const t = compareRuns([
    { label: labels[0], experiment: "quick", trials: before },
    { label: labels[1], experiment: "quick", trials: after },
  ], { metrics: ["mAP", "accuracy"] });
  const delta = "Δ mAP (quick#2 − quick#1)";
  assert.deepEqual(t.metrics, [
    "mAP · quick#1",
    "mAP · quick#2",
    delta,
    "accuracy · quick#1",
    "accuracy · quick#2",
    "Δ accuracy (quick#2 − quick#1)",
  ]);
  const pkt = t.rows[1].metrics[delta];
  assert.ok(Math.abs(pkt.mean - 0.02) < 1e-12);
  assert.ok(Math.abs(pkt.std! - 0.01) < 1e-12);
  assert.equal(pkt.n, 3);
  assert.ok(Math.abs(pkt.p! - (1 - 2 * Math.sqrt(3) / Math.sqrt(14))) < 1e-12);
  assert.equal(t.rows[2].metrics[delta].p, 1);
  assert.equal(t.rows[0].metrics[delta], undefined, "no change for a reference");
  const md = formatTable(t, "markdown").split("\n");
  assert.match(md[3], /\| \+0\.020 ± 0\.010 \(p 0\.0742\) \|/);
  assert.match(md[4], /\| 0\.000 ± 0 \(p 1\) \|/);
});

Deno.test("compareRuns() picks mAP by default, else the shared metrics, and checks --metrics", () => {
  const noMap = (vs: number[]) =>
    vs.map((v, seed): TrialResult => ({
      params: { m: "a" },
      seed,
      status: "done",
      metrics: { acc: v, [`only${vs.length}`]: 1 },
    }));
  const t = compareRuns([
    { label: "a", experiment: "a", trials: noMap([0.1]) },
    { label: "b", experiment: "b", trials: noMap([0.2, 0.3]) },
  ]);
  assert.deepEqual(t.metrics, ["acc · a", "acc · b"]);
  assert.throws(
    () =>
      compareRuns([
        { label: "a", experiment: "a", trials: MNIST },
        { label: "b", experiment: "b", trials: FASHION },
      ], { metrics: ["P@10"] }),
    (e) => e instanceof KtError && /no run has a metric "P@10"/.test(e.message),
  );
  assert.throws(
    () => compareRuns([{ label: "a", experiment: "a", trials: MNIST }]),
    /at least two runs/,
  );
});

Deno.test("sourceLabels() keeps names unique: experiment, then run id, then directory", () => {
  assert.deepEqual(
    sourceLabels([
      { experiment: "mnist", runDir: "runs/mnist", runId: 1 },
      { experiment: "fashion", runDir: "runs/fashion", runId: 1 },
    ]),
    ["mnist", "fashion"],
  );
  assert.deepEqual(
    sourceLabels([
      { experiment: "q", runDir: "a/run", runId: 1 },
      { experiment: "q", runDir: "b/other/", runId: 1 },
    ]),
    ["run#1", "other#1"],
  );
});

/** What `kt <args>` printed, run in this process. */
async function kt(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error };
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    const code = await runCli(args, [], { entry: "main.ts" });
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    Object.assign(console, saved);
  }
}

Deno.test("kt compare reads runs from their directories (<dir>@<id> picks a run)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (sub: string, runs: TrialResult[][]) => {
      const db = openResults(join(dir, sub));
      try {
        for (const ts of runs) {
          const run = db.startRun({ experiment: sub });
          for (const t of ts) {
            const id = db.addTrial(run, {
              label: `${JSON.stringify(t.params)} ${t.seed}`,
              params: t.params,
              seed: t.seed!,
            });
            db.setTrialStatus(id, "done");
            db.recordMetrics(id, t.metrics, []);
          }
          db.finishRun(run, new Date());
        }
      } finally {
        db.close();
      }
    };
    write("mnist", [MNIST]);
    write("fashion", [trials({ pkt: [0.1, 0.1, 0.1] }), FASHION]);
    const r = await kt(["compare", join(dir, "mnist"), join(dir, "fashion@1"), "--format", "csv"]);
    assert.equal(r.code, 0, r.stderr);
    const csv = r.stdout.split("\n");
    assert.equal(
      csv[0],
      "method,reference,seeds,failed,mAP · mnist_mean,mAP · mnist_std,mAP · mnist_p," +
        "mAP · fashion_mean,mAP · fashion_std,mAP · fashion_p,best,tied",
    );
    assert.equal(csv[1], "pkt,,3,0,0.910,0.010,,0.1000,0,,mAP · mnist,");
    assert.match(r.stderr, /fashion: .*fashion run 1 \(3 trials\)/);
    const bad = await kt(["compare", join(dir, "mnist"), join(dir, "fashion@7")]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /has no run 7 — runs: 1, 2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
