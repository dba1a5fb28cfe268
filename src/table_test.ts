import assert from "node:assert/strict";
import {
  compareMetricNames,
  comparisonTable,
  isFinished,
  isLowerBetter,
  meanStd,
  type TrialResult,
} from "./table.ts";
import { openResults, TRIAL_STATUSES } from "./results.ts";
import { trials } from "./_table_fixtures.ts";

Deno.test("meanStd() uses the sample std (n − 1) and gives null for one value", () => {
  const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(r.mean, 5);
  // Σ(v − 5)² = 32, 32 / 7
  assert.ok(Math.abs(r.std! - Math.sqrt(32 / 7)) < 1e-12);
  assert.deepEqual(meanStd([3]), { mean: 3, std: null });
});

Deno.test("comparisonTable() groups by params minus seed and matches hand-computed mean ± std", () => {
  const t = comparisonTable(trials);
  assert.deepEqual(t.rows.map((r) => [r.method, r.seeds, r.failed]), [
    ["method=pkt", 3, 0],
    ["method=hinton", 2, 1],
    ["method=none", 1, 0],
  ]);
  const close = (a: number | null, b: number) => assert.ok(Math.abs(a! - b) < 1e-9, `${a} vs ${b}`);
  const [pkt, hinton, none] = t.rows;
  close(pkt.metrics.mAP.mean, 0.52);
  close(pkt.metrics.mAP.std, 0.02);
  close(pkt.metrics.loss.mean, 0.4);
  close(pkt.metrics.loss.std, 0.1);
  close(hinton.metrics.mAP.mean, 0.5);
  close(hinton.metrics.mAP.std, Math.SQRT2 * 0.01);
  close(hinton.metrics.loss.std, 0);
  close(none.metrics.mAP.mean, 0.4);
  assert.equal(none.metrics.mAP.std, null);
  assert.equal(none.metrics.loss, undefined);
  assert.deepEqual(pkt.params, { method: "pkt" });
});

Deno.test("comparisonTable() marks nothing best with fewer than 3 common seeds (n/a)", () => {
  // pkt has 3 seeds, hinton 2 (one failed), none 1: every comparison lacks pairs.
  const t = comparisonTable(trials);
  assert.deepEqual(t.lowerIsBetter, ["loss"]);
  assert.deepEqual(t.rows.map((r) => r.metrics.mAP.best), [false, false, false]);
  assert.deepEqual(t.rows.map((r) => r.metrics.mAP.tie), [false, false, false]);
  assert.equal(t.tests.mAP.verdict, "n/a");
  assert.equal(t.tests.mAP.top, "method=pkt");
  assert.deepEqual(
    t.tests.mAP.comparisons.map((c) => [c.method, c.n, c.t, c.p]),
    [["method=hinton", 2, null, null], ["method=none", 1, null, null]],
  );
  // Lower is better: hinton's loss 0.2 is the top; none has no loss, pkt shares 2 seeds.
  assert.equal(t.tests.loss.top, "method=hinton");
  assert.equal(t.tests.loss.verdict, "n/a");
});

/** Methods × seeds, given as method → mAP per seed; the second method's trials in reverse seed order. */
function threeMethods(values: Record<string, number[]>): TrialResult[] {
  return Object.entries(values).flatMap(([method, vs], i) => {
    const seeds = vs.map((v, seed): TrialResult => ({
      params: { method, seed },
      status: "done",
      metrics: { mAP: v },
    }));
    // Pairing must go by seed, not by position.
    return i === 1 ? seeds.reverse() : seeds;
  });
}

Deno.test("comparisonTable() marks best only when the top beats every method (paired t, p < 0.05)", () => {
  // a − b per seed: 0.10, 0.11, 0.12, 0.09 → mean 0.105, sd √(0.0005/3) = 0.0129099,
  // t = 0.105 / (0.0129099 / 2) = 16.267, df 3 → p ≈ 0.000506 (t table: t(0.9995, 3) = 12.924).
  // a − c: 0.20, 0.20, 0.24, 0.18 → mean 0.205, sd 0.0251661, t = 16.292, p ≈ 0.000504.
  const t = comparisonTable(threeMethods({
    a: [0.80, 0.82, 0.85, 0.83],
    b: [0.70, 0.71, 0.73, 0.74],
    c: [0.60, 0.62, 0.61, 0.65],
  }));
  const test = t.tests.mAP;
  assert.equal(test.top, "method=a");
  assert.equal(test.verdict, "best");
  const [b, c] = test.comparisons;
  assert.equal(b.method, "method=b");
  assert.equal(b.n, 4);
  assert.equal(b.df, 3);
  assert.ok(Math.abs(b.meanDiff - 0.105) < 1e-12);
  assert.ok(Math.abs(b.t! - 0.105 / (Math.sqrt(0.0005 / 3) / 2)) < 1e-9, `${b.t}`);
  assert.ok(b.p! < 0.001 && b.p! > 0.0001, `${b.p}`);
  assert.ok(Math.abs(c.meanDiff - 0.205) < 1e-12);
  assert.ok(c.p! < 0.001, `${c.p}`);
  const byName = Object.fromEntries(t.rows.map((r) => [r.method, r.metrics.mAP]));
  assert.deepEqual(Object.values(byName).map((m) => [m.best, m.tie]), [
    [true, false],
    [false, false],
    [false, false],
  ]);
  assert.equal(byName["method=a"].p, null);
  assert.equal(byName["method=b"].p, b.p);
});

Deno.test("comparisonTable() shows a tie when the runner-up is within seed noise (p ≥ 0.05)", () => {
  // top − runner-up: 0.02, 0.01, 0.03 → t = 2√3, df 2, p = 1 − 2√3/√14 = 0.0742 (≥ 0.05): tied.
  // top − third: 0.30 on every seed → sd 0, p = 0: not tied.
  const t = comparisonTable(threeMethods({
    top: [0.80, 0.82, 0.85],
    runnerUp: [0.78, 0.81, 0.82],
    third: [0.50, 0.52, 0.55],
  }));
  const test = t.tests.mAP;
  assert.equal(test.verdict, "tie");
  assert.equal(test.top, "method=top");
  const p = 1 - 2 * Math.sqrt(3) / Math.sqrt(14);
  const [runnerUp, third] = test.comparisons;
  assert.ok(Math.abs(runnerUp.p! - p) < 1e-12, `${runnerUp.p} vs ${p}`);
  assert.ok(Math.abs(runnerUp.t! - 2 * Math.sqrt(3)) < 1e-9);
  assert.equal(third.p, 0);
  const marks = Object.fromEntries(
    t.rows.map((r) => [r.method, [r.metrics.mAP.best, r.metrics.mAP.tie]]),
  );
  assert.deepEqual(marks, {
    "method=top": [false, true],
    "method=runnerUp": [false, true],
    "method=third": [false, false],
  });
});

Deno.test("comparisonTable() tests lower-is-better columns with the lowest mean on top", () => {
  const t = comparisonTable(
    [0, 1, 2].flatMap((seed) => [
      { params: { m: "x", seed }, status: "done", metrics: { loss: 1 + seed } },
      { params: { m: "y", seed }, status: "done", metrics: { loss: 2 + seed + seed * 0.5 } },
    ]),
  );
  // y − x = 1, 1.5, 2 → x is lower on every seed; mean diff (x − y) = −1.5, sd 0.5,
  // t = −1.5 / (0.5/√3) = −5.196, df 2 → p = 1 − 5.196/√(2 + 27) = 0.03510.
  assert.equal(t.tests.loss.top, "m=x");
  assert.equal(t.tests.loss.verdict, "best");
  assert.ok(Math.abs(t.tests.loss.comparisons[0].p! - (1 - Math.sqrt(27) / Math.sqrt(29))) < 1e-12);
  assert.deepEqual(t.rows.map((r) => r.metrics.loss.best), [true, false]);
});

Deno.test("comparisonTable() treats nested .seed params as seeds and can be told otherwise", () => {
  const ts: TrialResult[] = [
    { params: { lr: 1, "teacher.seed": 0 }, status: "done", metrics: { mAP: 1 } },
    { params: { lr: 1, "teacher.seed": 1 }, status: "done", metrics: { mAP: 2 } },
  ];
  assert.equal(comparisonTable(ts).rows.length, 1);
  assert.equal(comparisonTable(ts, { isSeedParam: (k) => k === "seed" }).rows.length, 2);
  assert.equal(
    comparisonTable([{ params: {}, status: "done", metrics: {} }]).rows[0].method,
    "default",
  );
});

Deno.test("comparisonTable() lists the sweep axes in first-appearance order, seeds excluded", () => {
  assert.deepEqual(comparisonTable(trials).axes, ["method"]);
  const t = comparisonTable([
    { params: { method: "pkt", "student.lr": 0.1, seed: 0 }, status: "done", metrics: {} },
    { params: { method: "pkt", "student.lr": 0.2, "t.seed": 1 }, status: "failed", metrics: {} },
    { params: { method: "none", "student.epochs": 3 }, status: "done", metrics: {} },
  ]);
  assert.deepEqual(t.axes, ["method", "student.lr", "student.epochs"]);
  assert.deepEqual(comparisonTable([]).axes, []);
});

Deno.test("metric columns: mAP, then P@k ascending, then the rest alphabetically", () => {
  const names = ["zeta", "P@100", "acc", "P@10", "mAP", "loss", "P@5"];
  assert.deepEqual(names.sort(compareMetricNames), [
    "mAP",
    "P@5",
    "P@10",
    "P@100",
    "acc",
    "loss",
    "zeta",
  ]);
  const prefixed = ["teacher.P@100", "eval.P@20", "eval.mAP", "P@10", "eval.P@100", "teacher.mAP"];
  assert.deepEqual(prefixed.sort(compareMetricNames), [
    "P@10",
    "eval.mAP",
    "eval.P@20",
    "eval.P@100",
    "teacher.mAP",
    "teacher.P@100",
  ]);
  const t = comparisonTable([{
    params: {},
    status: "done",
    metrics: { zeta: 1, "P@100": 1, acc: 1, "P@10": 1, mAP: 1 },
  }]);
  assert.deepEqual(t.metrics, ["mAP", "P@10", "P@100", "acc", "zeta"]);
});

Deno.test("isLowerBetter() matches whole words of the metric name", () => {
  assert.equal(isLowerBetter("loss"), true);
  assert.equal(isLowerBetter("train_loss"), true);
  assert.equal(isLowerBetter("evalTimeMs"), true);
  assert.equal(isLowerBetter("top1-error"), true);
  assert.equal(isLowerBetter("mAP"), false);
  assert.equal(isLowerBetter("glossary"), false);
  assert.equal(isLowerBetter("accuracy", ["accuracy"]), true);
});

Deno.test("comparisonTable() accepts the trials of the results database", async () => {
  const dir = await Deno.makeTempDir();
  const db = openResults(dir);
  try {
    const run = db.startRun({ experiment: "e" });
    for (const [i, v] of [0.1, 0.3].entries()) {
      const id = db.addTrial(run, { label: `s${i}`, params: { m: "a", seed: i }, seed: i });
      db.setTrialStatus(id, "done");
      db.recordMetrics(id, { mAP: v }, [
        { node: "teacher_eval", label: "teacher", key: "T", metrics: { mAP: 0.9 } },
      ]);
    }
    const [teacher, row] = comparisonTable(db.trials(run)).rows;
    assert.deepEqual([teacher.method, teacher.seeds, teacher.metrics.mAP.n], [
      "reference: teacher",
      1,
      1,
    ]);
    assert.equal(row.seeds, 2);
    assert.ok(Math.abs(row.metrics.mAP.mean - 0.2) < 1e-12);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// Two methods × seeds 0, 1, 2, each trial measuring two references alongside:
// - the teacher: one artifact (key T) shared by all six trials, mAP 0.9 → n = 1, std undefined;
// - the plain student: one artifact per seed (keys B0, B1, B2), mAP 0.5, 0.5, 0.8 — two seeds
//   with the same value are still two measurements → mean 0.6,
//   std √((0.1² + 0.1² + 0.2²)/2) = √0.03; each seed's value appears in both methods' trials.
// The methods: pkt mAP 0.60, 0.62, 0.64 → 0.62; none 0.55, 0.55, 0.55 → 0.55 ± 0.
const STUDENT = [0.5, 0.5, 0.8];
const withReferences: TrialResult[] = ["pkt", "none"].flatMap((method) =>
  [0, 1, 2].map((seed): TrialResult => ({
    params: { method },
    seed,
    status: "done",
    metrics: { mAP: method === "pkt" ? 0.6 + 0.02 * seed : 0.55 },
    references: [
      { label: "teacher", key: "T", metrics: { mAP: 0.9, accuracy: 0.99 } },
      { label: "plain student", key: `B${seed}`, metrics: { mAP: STUDENT[seed] } },
    ],
  }))
);

Deno.test("comparisonTable() gives each reference one row, first, over its distinct measurements", () => {
  const t = comparisonTable(withReferences);
  assert.deepEqual(t.rows.map((r) => [r.method, r.reference, r.seeds, r.failed]), [
    ["reference: teacher", true, 1, 0],
    ["reference: plain student", true, 3, 0],
    ["method=pkt", false, 3, 0],
    ["method=none", false, 3, 0],
  ]);
  assert.deepEqual(t.metrics, ["mAP", "accuracy"]);
  const [teacher, student, pkt, none] = t.rows;
  const single = { std: null, n: 1, best: false, tie: false, p: null };
  assert.deepEqual(teacher.metrics.mAP, { mean: 0.9, ...single });
  assert.deepEqual(teacher.metrics.accuracy, { mean: 0.99, ...single });
  assert.deepEqual(teacher.params, {});
  assert.equal(student.metrics.mAP.n, 3);
  assert.ok(Math.abs(student.metrics.mAP.mean - 0.6) < 1e-12);
  assert.ok(Math.abs(student.metrics.mAP.std! - Math.sqrt(0.03)) < 1e-12);
  assert.equal(student.metrics.accuracy, undefined);
  // The method rows carry only their own metrics: no reference columns.
  assert.ok(Math.abs(pkt.metrics.mAP.mean - 0.62) < 1e-12);
  assert.deepEqual(Object.keys(pkt.metrics), ["mAP"]);
  assert.deepEqual(Object.keys(none.metrics), ["mAP"]);
});

Deno.test("a reference is never best, even with the highest mean: methods compete among themselves", () => {
  const t = comparisonTable(withReferences);
  assert.deepEqual(t.rows.map((r) => r.metrics.mAP.best), [false, false, true, false]);
  // A lone method row has no one to beat; the reference's higher accuracy marks nothing.
  assert.deepEqual(t.rows.map((r) => r.metrics.accuracy?.best), [
    false,
    undefined,
    undefined,
    undefined,
  ]);
});

Deno.test("references of unfinished trials are left out; a reference row needs one finished trial", () => {
  const t = comparisonTable([
    { ...withReferences[0], status: "failed" },
    {
      ...withReferences[1],
      status: "running",
      references: [{ label: "other", key: "X", metrics: { mAP: 1 } }],
    },
    withReferences[2],
  ]);
  assert.deepEqual(t.rows.map((r) => [r.method, r.seeds]), [
    ["reference: teacher", 1],
    ["reference: plain student", 1],
    ["method=pkt", 1],
  ]);
  assert.equal(t.rows[1].metrics.mAP.mean, STUDENT[2]);
});

Deno.test("isFinished: of every trial status, only done and cached have results to show", () => {
  assert.deepEqual(TRIAL_STATUSES.filter(isFinished), ["done", "cached"]);
});
