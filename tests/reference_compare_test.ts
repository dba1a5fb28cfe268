/**
 * experiments/reference/compare.ts, kt beside the PyTorch reference: the teacher is one cell when
 * every trial shares one teacher and one cell per seed when each seed has its own (`seed: ${seed}`
 * on the teacher, pkt_protocol.py --paired-teachers); the targets (each kt mAP within 0.5 points
 * of PyTorch's or above, PKT first on the mean and every seed) are checked on hand-made values.
 */
import assert from "node:assert/strict";
import {
  type Cells,
  compare,
  ktRows,
  teachers,
  torchCells,
} from "../experiments/reference/compare.ts";
import type { TrialRow } from "../src/results.ts";
import { doneTrial } from "./_trial_rows.ts";

/** A done trial of `method` at `seed` with mAP `mAP`, its plain student and its teacher. */
function trial(
  method: unknown,
  seed: number,
  mAP: number,
  teacher: { key: string; mAP: number },
): TrialRow {
  return doneTrial(method, seed, { mAP, "P@10": 0.9, "P@100": 0.8, accuracy: 0.9 }, [
    { node: "teacher_eval", label: "teacher", key: teacher.key, metrics: { mAP: teacher.mAP } },
    {
      node: "baseline_eval",
      label: "plain student (baseline)",
      key: `p${seed}`,
      metrics: { mAP: 0.7 + seed / 100 },
    },
  ]);
}

const cells = (values: Record<number, number>): Cells =>
  new Map(Object.entries(values).map(([s, mAP]) => [Number(s), { mAP }]));

Deno.test("ktRows: one shared teacher is one cell; a teacher per seed is a cell per seed", () => {
  const shared = ktRows([0, 1, 2].map((s) => trial("pkt", s, 0.8, { key: "t", mAP: 0.84 })));
  assert.deepEqual([...shared.get("teacher")!.entries()], [[0, { mAP: 0.84 }]]);
  assert.equal(teachers(shared), "one");
  const paired = ktRows(
    [0, 1, 2].map((s) => trial("pkt", s, 0.8, { key: `t${s}`, mAP: 0.83 + s / 100 })),
  );
  assert.deepEqual([...paired.get("teacher")!.entries()], [[0, { mAP: 0.83 }], [1, { mAP: 0.84 }], [
    2,
    { mAP: 0.85 },
  ]]);
  assert.equal(teachers(paired), "one per seed (3)");
  // Plain students per seed, methods named as pkt_protocol.py names them.
  assert.deepEqual([...paired.get("plain")!.keys()], [0, 1, 2]);
  // Only seed 1 finished: its teacher stays seed 1's (a paired run's seed-1 teacher must not
  // face PyTorch's seed-0 teacher in the same-seed column).
  const lone = ktRows([trial("pkt", 1, 0.8, { key: "t1", mAP: 0.84 })]);
  assert.deepEqual([...lone.get("teacher")!.keys()], [1]);
  const hinton = ktRows([trial({ use: "hinton", form: "official" }, 0, 0.8, { key: "t", mAP: 1 })]);
  assert.ok(hinton.has("hinton-official"));
});

Deno.test("torchCells: a --paired-teachers teacher keeps its seeds, one teacher is seed 0", () => {
  assert.deepEqual([...torchCells({ perSeed: [{ mAP: 0.9 }], summary: {} }).keys()], [0]);
  const paired = torchCells({
    seeds: [0, 1, 2],
    perSeed: [{ mAP: 1 }, { mAP: 2 }, { mAP: 3 }],
    summary: {},
  });
  assert.deepEqual([...paired.entries()], [[0, { mAP: 1 }], [1, { mAP: 2 }], [2, { mAP: 3 }]]);
});

Deno.test("compare: teacher per seed side by side, targets checked on the means", () => {
  // Teachers: kt 83.0 / 84.0 / 85.0 (mean 84.0), PyTorch 84.0 / 84.2 / 84.4 (84.2): Δ −0.20 on the
  // mean, and the same-seed Δ is the mean of −1.0, −0.2, +0.6 = −0.20.
  const kt = new Map<string, Cells>([
    ["teacher", cells({ 0: 0.83, 1: 0.84, 2: 0.85 })],
    ["plain", cells({ 0: 0.78, 1: 0.78, 2: 0.78 })],
    ["pkt", cells({ 0: 0.80, 1: 0.80, 2: 0.80 })],
    ["hinton-official", cells({ 0: 0.79, 1: 0.795, 2: 0.81 })], // seed 2 beats PKT
    ["rkd", cells({ 0: 0.9, 1: 0.9, 2: 0.9 })], // not in the reference: left out
  ]);
  const pt = new Map<string, Cells>([
    ["teacher", cells({ 0: 0.84, 1: 0.842, 2: 0.844 })],
    ["plain", cells({ 0: 0.78, 1: 0.78, 2: 0.78 })],
    ["pkt", cells({ 0: 0.806, 1: 0.806, 2: 0.806 })], // kt −0.60: a miss
    ["hinton-official", cells({ 0: 0.79, 1: 0.79, 2: 0.79 })],
  ]);
  const r = compare(kt, pt, "fashion-mnist");
  assert.deepEqual(r.ktOnly, ["rkd"]);
  const teacherRow = r.table.find((l) => l.startsWith("| teacher |"))!.split(" | ");
  assert.equal(teacherRow[1], "84.00 ± 1.00");
  assert.equal(teacherRow[2], "84.20 ± 0.20");
  assert.equal(teacherRow.at(-2), "-0.20");
  assert.equal(teacherRow.at(-1), "-0.20 |");
  assert.match(r.perSeed[0], /teacher 83\.00 \/ 84\.00 \/ 85\.00/);
  assert.deepEqual(r.failures, [
    "pkt: kt mAP -0.60 points below PyTorch",
    "kt, seed 2: hinton-official first on mAP, not pkt",
  ]);
});

Deno.test("compare: one teacher each, every target met", () => {
  const kt = new Map<string, Cells>([
    ["teacher", cells({ 0: 0.98 })],
    ["plain", cells({ 0: 0.96, 1: 0.962 })],
    ["pkt", cells({ 0: 0.973, 1: 0.974 })],
    ["none", cells({ 0: 0.967, 1: 0.968 })],
  ]);
  const pt = new Map<string, Cells>([
    ["teacher", cells({ 0: 0.982 })], // −0.2: within 0.5
    ["plain", cells({ 0: 0.963, 1: 0.964 })],
    ["pkt", cells({ 0: 0.975, 1: 0.975 })],
    ["none", cells({ 0: 0.968, 1: 0.968 })],
  ]);
  const r = compare(kt, pt, "mnist");
  assert.deepEqual(r.failures, []);
  assert.equal(r.perSeed[0].includes("teacher"), false, "one teacher: no per-seed teacher");
});
