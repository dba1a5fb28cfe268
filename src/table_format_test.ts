import assert from "node:assert/strict";
import { comparisonTable, type TrialResult } from "./table.ts";
import { formatTable, roundToStd, tableFormat } from "./table_format.ts";
import { KtError } from "./errors.ts";
import { trials } from "./_table_fixtures.ts";

/**
 * Two axes × 3 seeds, a teacher reference. mAP differs between methods by the same amount on every
 * seed (pkt at lr 0.01 is best, p = 0); the other metrics are equal across methods (all tied).
 */
const twoAxes: TrialResult[] = ["pkt", "hinton"].flatMap((method) =>
  [0.001, 0.01].flatMap((lr) =>
    [0, 1, 2].map((seed): TrialResult => ({
      params: { method, "student.lr": lr, seed },
      status: "done",
      metrics: {
        mAP: 0.7 + lr * 10 + seed * 0.01 + (method === "pkt" ? 0.05 : 0),
        "P@10": 0.9,
        "P@100": 0.8 + seed * 0.001,
        accuracy: 0.95,
        qmi: 0.123456,
      },
      references: [{ label: "teacher", key: "T", metrics: { mAP: 0.98126 } }],
    }))
  )
);

Deno.test("roundToStd() keeps two significant digits of the std and the mean to its place", () => {
  assert.deepEqual(roundToStd(0.76523, 0.01224), { mean: "0.765", std: "0.012" });
  // The README's old P@10 cell: 0.9135999999999989 ± 0.0102
  assert.deepEqual(roundToStd(0.9135999999999989, 0.0102), { mean: "0.914", std: "0.010" });
  // 0.0996 rounds to 0.100 at three decimals: two significant digits are 0.10
  assert.deepEqual(roundToStd(0.5, 0.0996), { mean: "0.50", std: "0.10" });
  assert.deepEqual(roundToStd(12345, 1234), { mean: "12300", std: "1200" });
  assert.deepEqual(roundToStd(3.14159, 0.5), { mean: "3.14", std: "0.50" });
  assert.deepEqual(roundToStd(-0.0001, 0.01), { mean: "0.000", std: "0.010" });
  assert.deepEqual(roundToStd(0.9813, null), { mean: "0.9813", std: null });
  assert.deepEqual(roundToStd(0.55, 0), { mean: "0.5500", std: "0" });
  assert.deepEqual(roundToStd(0.94999999999999984, 1.4e-16), { mean: "0.9500", std: "0" });
  assert.deepEqual(roundToStd(123456.7, null), { mean: "123457", std: null });
  assert.deepEqual(roundToStd(NaN, null), { mean: "NaN", std: null });
  assert.deepEqual(roundToStd(0, 1e-25), { mean: "0.000", std: "1.0e-25" });
});

Deno.test("formatTable() markdown: one column per axis, rounded to the std, best bold, ties ≈", () => {
  // Fewer than 3 seeds in common (hinton lost one, none has one): no test, nothing marked.
  assert.equal(
    formatTable(comparisonTable(trials), "markdown"),
    [
      "| method | seeds | failed | mAP | loss ↓ |",
      "| --- | ---: | ---: | ---: | ---: |",
      "| pkt | 3 | 0 | 0.520 ± 0.020 | 0.40 ± 0.10 |",
      "| hinton | 2 | 1 | 0.500 ± 0.014 | 0.2000 ± 0 |",
      "| none | 1 | 0 | 0.4000 ± — | n/a |",
      "",
      "Nothing marked best: a paired test over seeds needs 3 seeds per method.",
      "",
    ].join("\n"),
  );
  const md = formatTable(comparisonTable(twoAxes), "markdown").split("\n");
  assert.deepEqual(md.slice(0, 3), [
    "| method | student.lr | seeds | failed | mAP | P@10 | P@100 | accuracy | qmi |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    "| reference: teacher |  | 1 | 0 | 0.9813 ± — | n/a | n/a | n/a | n/a |",
  ]);
  // pkt, lr 0.01: mAP 0.85, 0.86, 0.87 → 0.860 ± 0.010, above every other row by the same
  // amount on each seed (p = 0): best. P@100 0.800, 0.801, 0.802 for all: tied.
  assert.equal(
    md[4],
    "| pkt | 0.01 | 3 | 0 | **0.860 ± 0.010** | 0.9000 ± 0 ≈ | 0.8010 ± 0.0010 ≈ | " +
      "0.9500 ± 0 ≈ | 0.1235 ± 0 ≈ |",
  );
  assert.equal(
    md[5],
    "| hinton | 0.001 | 3 | 0 | 0.720 ± 0.010 | 0.9000 ± 0 ≈ | 0.8010 ± 0.0010 ≈ | " +
      "0.9500 ± 0 ≈ | 0.1235 ± 0 ≈ |",
  );
  assert.equal(
    md[8],
    "bold: best — better than every other method by a paired t-test over seeds (two-sided, " +
      "matched by seed), p < 0.05; ≈: tied for best (p ≥ 0.05 against the best mean).",
  );
});

Deno.test("formatTable() csv: axis columns, the reference's label, rounded values, p-values", () => {
  const csv = formatTable(comparisonTable(twoAxes), "csv").split("\n");
  assert.equal(
    csv[0],
    "method,student.lr,reference,seeds,failed,mAP_mean,mAP_std,mAP_p,P@10_mean,P@10_std,P@10_p," +
      "P@100_mean,P@100_std,P@100_p,accuracy_mean,accuracy_std,accuracy_p,qmi_mean,qmi_std,qmi_p," +
      "best,tied",
  );
  assert.equal(csv[1], ",,teacher,1,0,0.9813,,,,,,,,,,,,,,,,");
  // The first row is the top of the tied columns (no p of its own); p of mAP against pkt 0.01.
  assert.equal(
    csv[2],
    "pkt,0.001,,3,0,0.770,0.010,0,0.9000,0,,0.8010,0.0010,,0.9500,0,,0.1235,0,,," +
      "P@10;P@100;accuracy;qmi",
  );
  assert.equal(
    csv[3],
    "pkt,0.01,,3,0,0.860,0.010,,0.9000,0,1,0.8010,0.0010,1,0.9500,0,1,0.1235,0,1,mAP," +
      "P@10;P@100;accuracy;qmi",
  );
  const quoted = comparisonTable([
    { params: { a: 'say "hi", 1' }, status: "done", metrics: { mAP: 0.5 } },
  ]);
  assert.equal(formatTable(quoted, "csv").split("\n")[1], '"say ""hi"", 1",,1,0,0.5000,,,,');
});

Deno.test("formatTable() json keeps full precision, the axes and the reference flags", () => {
  const t = comparisonTable(twoAxes);
  const json = JSON.parse(formatTable(t, "json"));
  assert.deepEqual(json.axes, ["method", "student.lr"]);
  assert.deepEqual(json.rows.map((r: { reference: boolean }) => r.reference), [
    true,
    false,
    false,
    false,
    false,
  ]);
  assert.equal(json.rows[2].metrics.mAP.mean, t.rows[2].metrics.mAP.mean);
  assert.ok(Math.abs(json.rows[2].metrics.mAP.std - 0.01) < 1e-15);
  // The tests, with every p-value: pkt at lr 0.01 against the three others, p = 0 each.
  assert.deepEqual(Object.keys(json.tests), ["mAP", "P@10", "P@100", "accuracy", "qmi"]);
  assert.equal(json.tests.mAP.verdict, "best");
  assert.equal(json.tests.mAP.top, "method=pkt, student.lr=0.01");
  assert.equal(json.tests.mAP.test, "paired t-test over seeds (two-sided, matched by seed)");
  assert.deepEqual(
    json.tests.mAP.comparisons.map((c: { method: string; n: number; p: number }) => [
      c.method,
      c.n,
      c.p,
    ]),
    [
      ["method=pkt, student.lr=0.001", 3, 0],
      ["method=hinton, student.lr=0.001", 3, 0],
      ["method=hinton, student.lr=0.01", 3, 0],
    ],
  );
  assert.equal(json.tests.qmi.verdict, "tie");
  assert.deepEqual(json.rows[2].metrics.mAP, { ...json.rows[2].metrics.mAP, best: true, p: null });
  assert.deepEqual(json.rows[2].params, { method: "pkt", "student.lr": 0.01 });
  assert.equal(
    JSON.parse(formatTable(comparisonTable(trials), "json")).rows[2].metrics.mAP.std,
    null,
  );
});

Deno.test("formatTable() text: aligned columns, no Markdown markers, a legend for the marks", () => {
  assert.equal(
    formatTable(comparisonTable(trials), "text"),
    [
      "method  seeds  failed             mAP         loss ↓",
      "──────  ─────  ──────  ──────────────  ─────────────",
      "pkt         3       0   0.520 ± 0.020    0.40 ± 0.10",
      "hinton      2       1   0.500 ± 0.014  0.2000 ± 0",
      "none        1       0  0.4000 ± —         n/a",
      "Nothing marked best: a paired test over seeds needs 3 seeds per method.",
      "",
    ].join("\n"),
  );
  const text = formatTable(comparisonTable(twoAxes), "text");
  assert.deepEqual(text.split("\n").slice(0, 8), [
    "method              student.lr  seeds               mAP          P@10              P@100" +
    "      accuracy           qmi",
    "──────────────────  ──────────  ─────  ────────────────  ────────────  ─────────────────" +
    "  ────────────  ────────────",
    "reference: teacher                  1  0.9813 ± —           n/a           n/a             " +
    "   n/a           n/a",
    "──────────────────  ──────────  ─────  ────────────────  ────────────  ─────────────────" +
    "  ────────────  ────────────",
    "pkt                 0.001           3   0.770 ± 0.010    0.9000 ± 0 ≈  0.8010 ± 0.0010 ≈" +
    "  0.9500 ± 0 ≈  0.1235 ± 0 ≈",
    "pkt                 0.01            3   0.860 ± 0.010 *  0.9000 ± 0 ≈  0.8010 ± 0.0010 ≈" +
    "  0.9500 ± 0 ≈  0.1235 ± 0 ≈",
    "hinton              0.001           3   0.720 ± 0.010    0.9000 ± 0 ≈  0.8010 ± 0.0010 ≈" +
    "  0.9500 ± 0 ≈  0.1235 ± 0 ≈",
    "hinton              0.01            3   0.810 ± 0.010    0.9000 ± 0 ≈  0.8010 ± 0.0010 ≈" +
    "  0.9500 ± 0 ≈  0.1235 ± 0 ≈",
  ]);
  assert.match(text, /^\*: best — better than every other method by a paired t-test/m);
  assert.doesNotMatch(text, /\*\*|\|/);
  assert.ok(!text.includes("\x1b"));
  // Colour: the best cell in bold, ties not.
  const color = formatTable(comparisonTable(twoAxes), "text", { color: true });
  assert.ok(color.includes("\x1b[1m0.860 ± 0.010 *\x1b[22m"));
  assert.equal(color.split("\x1b[1m").length, 2);
});

Deno.test("formatTable() text fits the width: metric columns wrap into blocks, long axes are cut", () => {
  const t = comparisonTable(twoAxes);
  const wide = formatTable(t, "text");
  const longest = Math.max(...wide.split("\n").map((l) => [...l].length));
  assert.ok(longest > 80, `${longest}`);
  for (const limit of [80, 60, 50]) {
    const text = formatTable(t, "text", { width: limit });
    const lines = text.split("\n");
    for (const line of lines) assert.ok([...line].length <= limit, `${limit}: ${line}`);
    // Every metric still appears once, every block repeats the axis headers.
    for (const m of ["mAP", "P@10", "P@100", "accuracy", "qmi"]) {
      assert.equal(
        lines.filter((l) => new RegExp(`\\s${m.replace("@", "@")}\\b`).test(l)).length,
        1,
        m,
      );
    }
    const blocks = text.split("\n\n");
    assert.ok(blocks.length > 1);
    for (const b of blocks) assert.match(b, /^method\s+student\.lr\s+seeds/);
  }
  // The reference label is cut (with …) rather than pushing the table past the width; axis
  // columns keep at least 8 characters, so a narrower terminal wraps the lines it gets.
  assert.match(formatTable(t, "text", { width: 50 }), /^reference:… {3,}1 {2}0\.9813 ± —$/m);
  assert.match(formatTable(t, "text", { width: 20 }), /^method +student… +seeds +mAP$/m);
});

Deno.test("tableFormat() reads md as markdown and refuses other names", () => {
  assert.equal(tableFormat("md"), "markdown");
  assert.equal(tableFormat("text"), "text");
  assert.throws(
    () => tableFormat("html"),
    (e) => e instanceof KtError && /html/.test(e.message) && /text, md, markdown/.test(e.hint!),
  );
  assert.throws(() => formatTable(comparisonTable(trials), "html" as never), KtError);
});
