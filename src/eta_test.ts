import assert from "node:assert/strict";
import { createEta } from "./eta.ts";

Deno.test("createEta() gives nothing before a job finished, then the work left over the slots", () => {
  const eta = createEta({ parallel: 2 });
  for (const key of ["a", "b", "c", "d", "e"]) eta.plan(key, "transfer");
  eta.started("a", 0);
  eta.started("b", 0);
  assert.equal(eta.seconds(5), undefined);
  eta.ended("a", 10);
  eta.started("c", 10);
  // b: 10 expected, 10 elapsed → 0 left; c: 10 left; d, e: 10 each → 30 s of work on 2 slots.
  assert.equal(eta.seconds(10), 15);
  eta.dropped("e");
  eta.ended("b", 12);
  eta.ended("c", 20);
  eta.ended("d", 30);
  assert.equal(eta.seconds(30), 0);
});

Deno.test("createEta() counts down with the clock when jobs take what was measured", () => {
  // 8 jobs of 10 s, 2 at a time: they end at 10, 20, 30, 40 in pairs.
  const eta = createEta({ parallel: 2 });
  for (let i = 0; i < 8; i++) eta.plan(`j${i}`, "transfer");
  let next = 0;
  const startTwo = (t: number) => {
    eta.started(`j${next++}`, t);
    eta.started(`j${next++}`, t);
  };
  startTwo(0);
  for (let t = 1; t <= 40; t++) {
    if (t % 10 === 0) {
      eta.ended(`j${next - 2}`, t);
      eta.ended(`j${next - 1}`, t);
      if (next < 8) startTwo(t);
    }
    if (t >= 10) {
      assert.ok(Math.abs(eta.seconds(t)! - (40 - t)) < 1e-9, `t ${t}: ${eta.seconds(t)}`);
    }
  }
});

/**
 * A simulated sweep: one 30 s teacher, then 12 students of 6 s and 12 evaluations of 1 s, 2 at a
 * time (each kind after the previous). Returns, per second, the ETA shown and the true time left.
 */
function simulate(): { t: number; eta: number | undefined; left: number }[] {
  const kinds = [
    ...Array(1).fill(["teacher", 30]),
    ...Array(12).fill(["student", 6]),
    ...Array(12).fill(["evaluate", 1]),
  ] as [string, number][];
  const eta = createEta({ parallel: 2 });
  kinds.forEach(([kind], i) => eta.plan(`j${i}`, kind));
  // Schedule: the teacher alone, then two at a time in order.
  const ends: { key: string; start: number; end: number }[] = [];
  ends.push({ key: "j0", start: 0, end: 30 });
  const slots = [30, 30];
  for (let i = 1; i < kinds.length; i++) {
    const s = slots[0] <= slots[1] ? 0 : 1;
    ends.push({ key: `j${i}`, start: slots[s], end: slots[s] + kinds[i][1] });
    slots[s] += kinds[i][1];
  }
  const finish = Math.max(...slots);
  const out: { t: number; eta: number | undefined; left: number }[] = [];
  for (let t = 0; t <= finish; t += 0.5) {
    for (const e of ends) {
      if (e.start === t) eta.started(e.key, t);
      if (e.end === t) eta.ended(e.key, t);
    }
    out.push({ t, eta: eta.seconds(t), left: finish - t });
  }
  return out;
}

Deno.test("createEta() estimates each kind of job by its own measured time, and stays steady", () => {
  const points = simulate();
  // Nothing measured before the teacher ends.
  assert.ok(points.filter((p) => p.t < 30).every((p) => p.eta === undefined));
  // Once a student and an evaluation have finished, the estimate is within 15 % (+1 s) of the
  // time left: a mean over all jobs (30 s teacher included) would say minutes.
  for (const p of points.filter((p) => p.t >= 70)) {
    assert.ok(Math.abs(p.eta! - p.left) <= 0.15 * p.left + 1, `t ${p.t}: ${p.eta} vs ${p.left}`);
  }
  // Steady: between two readings 0.5 s apart it moves at most 3 s beyond the clock's 0.5 s,
  // except where a kind is measured for the first time (the first student ends at 36 s, the
  // first evaluation at 67 s): there it jumps to the new estimate.
  const shown = points.filter((p) => p.eta !== undefined);
  for (let i = 1; i < shown.length; i++) {
    if (shown[i].t === 36 || shown[i].t === 67) continue;
    const step = shown[i - 1].eta! - shown[i].eta!;
    assert.ok(Math.abs(step - 0.5) <= 3, `t ${shown[i].t}: ${shown[i - 1].eta} → ${shown[i].eta}`);
  }
  assert.equal(shown[shown.length - 1].eta, 0);
});
