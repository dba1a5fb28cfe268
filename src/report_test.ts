import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildReport,
  escapeHtml,
  loadReportInput,
  renderReport,
  type ReportTrial,
  retrievalPrefix,
  writeReport,
} from "./report.ts";
import { comparisonTable } from "./table.ts";
import { openResults } from "./results.ts";
import { KtError } from "./errors.ts";

const EVIL = "<script>alert(1)</script>";

/** mAP per method and seed; means and stds below are worked out by hand from these. */
const MAP: Record<string, [number, number]> = {
  pkt: [0.50, 0.54], // mean 0.52, std 0.04/√2
  hinton: [0.46, 0.48], // mean 0.47, std 0.02/√2
  [EVIL]: [0.30, 0.40], // mean 0.35, std 0.10/√2
};
const MEAN: Record<string, number> = { pkt: 0.52, hinton: 0.47, [EVIL]: 0.35 };
const STD: Record<string, number> = {
  pkt: 0.04 / Math.SQRT2,
  hinton: 0.02 / Math.SQRT2,
  [EVIL]: 0.1 / Math.SQRT2,
};
/** Student loss per epoch (seed 0); seed 1 adds 0.1. Teacher loss is the same everywhere. */
const STUDENT_LOSS: Record<string, number[]> = {
  pkt: [0.3, 0.2, 0.1],
  hinton: [1.5, 1.2, 1.0],
  [EVIL]: [2.0, 1.9, 1.8],
};

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-report-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A results database with one run: 3 methods × 2 seeds, metrics, curves and configs. */
function writeRun(dir: string): void {
  const db = openResults(dir);
  try {
    const run = db.startRun({
      experiment: "report-test",
      file: "experiments/report.yaml",
      started: new Date(Date.UTC(2026, 0, 2, 3, 4)),
    });
    for (const method of Object.keys(MAP)) {
      for (const seed of [0, 1]) {
        const id = db.addTrial(run, {
          label: `method=${method},seed=${seed}`,
          params: { method },
          seed,
          config: {
            teacher: { use: "trained-network", epochs: 4 },
            student: { use: "transfer", loss: method, lr: 0.0005, seed },
          },
        });
        db.setTrialStatus(id, "done");
        db.recordMetrics(id, {
          mAP: MAP[method][seed],
          "P@10": MAP[method][seed] + 0.1,
          "P@50": MAP[method][seed] + 0.05,
        });
        STUDENT_LOSS[method].forEach((loss, epoch) => {
          db.recordEpoch(id, { node: "teacher", epoch, loss: 2 - epoch, samplesPerSecond: 1 });
          db.recordEpoch(id, {
            node: "student",
            epoch,
            loss: loss + seed * 0.1,
            samplesPerSecond: 1,
          });
        });
      }
    }
    db.finishRun(run, new Date(Date.UTC(2026, 0, 2, 4, 0)));
  } finally {
    db.close();
  }
}

/** Attributes of every `<tag ...>` whose class attribute contains `cls`. */
function elements(html: string, tag: string, cls: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const m of html.matchAll(new RegExp(`<${tag}\\s([^>]*)>`, "g"))) {
    const attrs = Object.fromEntries(
      [...m[1].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]),
    );
    if ((attrs.class ?? "").split(" ").includes(cls)) found.push(attrs);
  }
  return found;
}

/** The SVG of one chart. */
function chart(html: string, id: string): string {
  const m = new RegExp(`<svg class="chart" id="${id}"[\\s\\S]*?</svg>`).exec(html);
  assert.ok(m, `chart ${id} missing`);
  return m[0];
}

function unescape(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'").replaceAll("&amp;", "&");
}

function trial(method: string, seed: number, metrics: Record<string, number>): ReportTrial {
  return {
    label: `method=${method},seed=${seed}`,
    params: { method },
    seed,
    status: "done",
    metrics,
  };
}

const RUN = { experiment: "unit", started: "2026-01-02T03:04:05Z" };

Deno.test("buildReport() has one comparison-table row per method, in order", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const html = buildReport(dir);
    const rows = [...html.matchAll(/<tr class="method-row">([\s\S]*?)<\/tr>/g)];
    assert.equal(rows.length, 3);
    assert.ok(rows[0][1].includes("pkt") && rows[1][1].includes("hinton"));
    // pkt has the highest mean mAP (0.52), but two seeds allow no paired test: nothing is bold.
    assert.match(rows[0][1], /<td>0\.5200/);
    assert.doesNotMatch(html, /<strong>0\.\d+/);
    assert.match(html, /Nothing marked best: a paired test over seeds needs 3 seeds per method/);
    assert.ok(html.includes("report-test") && html.includes("2026-01-02 03:04 UTC"));
  });
});

/** A linear y scale recovered from two mean lines: value → pixel. */
function scaleOf(means: Record<string, string>[], values: number[]): (v: number) => number {
  const [a, b] = [Number(means[0].y1), Number(means[1].y1)];
  const perUnit = (a - b) / (values[1] - values[0]);
  return (v: number) => a + (values[0] - v) * perUnit;
}

Deno.test("the mAP dot plot puts every seed at its value and each mean ± std on one zoomed scale", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const html = buildReport(dir);
    const svg = chart(html, "chart-map");
    const means = elements(svg, "line", "mean");
    assert.deepEqual(means.map((m) => unescape(m["data-method"])), Object.keys(MAP));
    const y = scaleOf(means, [MEAN.pkt, MEAN.hinton]);
    const points = elements(svg, "circle", "seed-point");
    assert.equal(points.length, 6);
    for (const [i, method] of Object.keys(MAP).entries()) {
      assert.ok(Math.abs(Number(means[i].y1) - y(MEAN[method])) < 0.03, `${method} mean`);
      const mine = points.filter((p) => unescape(p["data-method"]) === method);
      assert.deepEqual(
        mine.map((p) => Number(p.cy)).map((cy, k) => Math.abs(cy - y(MAP[method][k])) < 0.03),
        [true, true],
        `${method} seeds`,
      );
    }
    // Whiskers: ± std on the same scale, centred on the mean.
    const errs = elements(svg, "line", "err");
    for (const [i, method] of Object.keys(MAP).entries()) {
      const [top, bottom] = [Number(errs[i].y1), Number(errs[i].y2)];
      assert.ok(Math.abs((bottom - top) / 2 - (y(0) - y(STD[method]))) < 0.03, method);
    }
    // Means 0.35–0.52: the axis does not start at 0, and says so.
    assert.match(svg, />mAP \(zoomed, not from 0\)</);
    assert.match(svg, /class="axis-break"/);
    assert.match(html, /<strong>The axis is zoomed<\/strong> to 0\.2–0\.6/);
  });
});

Deno.test("method names from YAML are escaped everywhere (no <script> reaches the page)", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const html = buildReport(dir);
    assert.ok(!html.includes("<script"), "raw <script> in the report");
    assert.ok(html.includes(escapeHtml(EVIL)));
    assert.equal(escapeHtml(`a&b<"c">'`), "a&amp;b&lt;&quot;c&quot;&gt;&#39;");
  });
});

Deno.test("each method's resolved config is in a collapsible block", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const html = buildReport(dir);
    const blocks = [...html.matchAll(/<details class="config">([\s\S]*?)<\/details>/g)];
    assert.equal(blocks.length, 3);
    for (const [i, method] of Object.keys(MAP).entries()) {
      const text = unescape(blocks[i][1]);
      assert.ok(text.includes(method), `config block ${i} names ${method}`);
      assert.ok(text.includes("lr: 0.0005") && text.includes("use: trained-network"));
    }
    assert.match(html, /differs between methods: <code>student<\/code>/);
  });
});

Deno.test("loss curves show the node that differs between methods, mean over seeds", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const html = buildReport(dir);
    assert.ok(html.includes("node <code>student</code>"));
    assert.ok(!html.includes("node <code>teacher</code>"), "the shared teacher is not charted");
    assert.ok(html.includes("not shown: teacher"));
    const svg = chart(html, "chart-loss-1");
    const lines = elements(svg, "polyline", "series");
    assert.equal(lines.length, 3);
    // Per method the mean over seeds is the seed-0 loss + 0.05: y pixel positions must keep the
    // order of the means and the same linear map for every point.
    const means = Object.keys(MAP).flatMap((m) => STUDENT_LOSS[m].map((l) => l + 0.05));
    const ys = lines.flatMap((l) => l.points.split(" ").map((p) => Number(p.split(",")[1])));
    assert.equal(ys.length, means.length);
    const slope = (ys[1] - ys[0]) / (means[1] - means[0]);
    for (let i = 0; i < ys.length; i++) {
      assert.ok(Math.abs(ys[i] - (ys[0] + slope * (means[i] - means[0]))) < 0.05, `point ${i}`);
    }
  });
});

Deno.test("precision@k has one line per method over the P@k metrics present", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const svg = chart(buildReport(dir), "chart-pk");
    const lines = elements(svg, "polyline", "series");
    assert.equal(lines.length, 3);
    for (const line of lines) {
      const xs = line.points.split(" ").map((p) => Number(p.split(",")[0]));
      assert.equal(xs.length, 2); // P@10, P@50
      assert.ok(xs[0] < xs[1]);
    }
  });
});

/**
 * A run whose trials (pkt, hinton × seeds 0, 1) also measured the teacher (one shared artifact:
 * mAP 0.8, higher than any method) and the plain student (one per seed: mAP 0.40, 0.44 → mean
 * 0.42, std 0.04/√2).
 */
function writeRunWithReferences(dir: string): void {
  const db = openResults(dir);
  try {
    const run = db.startRun({ experiment: "refs", started: new Date(Date.UTC(2026, 0, 2)) });
    for (const method of ["pkt", "hinton"]) {
      for (const seed of [0, 1]) {
        const id = db.addTrial(run, {
          label: `method=${method},seed=${seed}`,
          params: { method },
          seed,
          config: { student: { use: "transfer", loss: method } },
        });
        db.setTrialStatus(id, "done");
        db.recordMetrics(id, { mAP: MAP[method][seed], "P@10": 0.6 }, [
          { node: "teacher_eval", label: "teacher", key: "T", metrics: { mAP: 0.8, "P@10": 0.9 } },
          {
            node: "baseline_eval",
            label: "plain student (baseline)",
            key: `B${seed}`,
            metrics: { mAP: [0.4, 0.44][seed], "P@10": 0.5 },
          },
        ]);
      }
    }
  } finally {
    db.close();
  }
}

Deno.test("references are rows of the comparison table, first, marked, and never best", async () => {
  await withDir((dir) => {
    writeRunWithReferences(dir);
    const html = buildReport(dir);
    const refs = [...html.matchAll(/<tr class="reference-row">([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
    const methods = [...html.matchAll(/<tr class="method-row">([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
    assert.equal(refs.length, 2);
    assert.equal(methods.length, 2);
    assert.ok(html.indexOf('class="reference-row"') < html.indexOf('class="method-row"'));
    assert.match(
      refs[0],
      /<span class="tag">reference<\/span> teacher<\/td><td>1<\/td><td>0<\/td>/,
    );
    assert.match(refs[1], /plain student \(baseline\)<\/td><td>2<\/td>/);
    // The teacher's 0.8 is the highest mAP but never marked; pkt (0.52) is the methods' top.
    assert.doesNotMatch(refs.join(""), /best|tie/);
    assert.match(refs[0], /0\.8000<span class="pm">± —<\/span>/);
    assert.match(refs[1], /0\.4200<span class="pm">± 0\.0283<\/span>/);
    assert.match(methods[0], /<td>0\.5200/);
    // Configs and loss curves are the methods'.
    assert.equal((html.match(/<details class="config">/g) ?? []).length, 2);
  });
});

Deno.test("the mAP chart draws near references as dashed lines on its scale and names far ones", async () => {
  await withDir((dir) => {
    writeRunWithReferences(dir);
    const html = buildReport(dir);
    const svg = chart(html, "chart-map");
    const means = elements(svg, "line", "mean");
    assert.deepEqual(means.map((b) => b["data-method"]), ["pkt", "hinton"]);
    const y = scaleOf(means, [MEAN.pkt, MEAN.hinton]);
    // The plain student (0.42) is near the methods (0.46–0.54): a dashed line at its mean. The
    // teacher (0.8) would stretch the axis more than twice: named at the top edge instead.
    const lines = elements(svg, "line", "refline");
    assert.deepEqual(lines.map((l) => unescape(l["data-method"])), ["plain student (baseline)"]);
    assert.equal(lines[0].y1, lines[0].y2);
    assert.ok(Math.abs(Number(lines[0].y1) - y(0.42)) < 0.03, `${lines[0].y1}`);
    assert.match(svg, /class="reflabel off-axis"[^>]*>↑ teacher: 0\.8000</);
    assert.ok(html.includes("Dashed lines: references"));
    assert.ok(html.includes("off the axis: teacher 0.8000 (above)"));
    // Precision@k: the references are dashed curves beside the methods' lines.
    const series = elements(chart(html, "chart-pk"), "polyline", "series");
    assert.deepEqual(
      series.map((l) => [unescape(l["data-method"]), l.class]),
      [
        ["teacher", "series reference"],
        ["plain student (baseline)", "series reference"],
        ["pkt", "series"],
        ["hinton", "series"],
      ],
    );
  });
});

Deno.test("the report marks a significant best, shows ties and every p-value of the paired tests", () => {
  // mAP per seed — top: 0.80, 0.82, 0.85; close: 0.78, 0.81, 0.82 (p = 0.0742, tied);
  // far: 0.50, 0.52, 0.55 (0.30 lower on every seed, p = 0). P@10: top beats both (p = 0).
  const values: Record<string, number[]> = {
    top: [0.80, 0.82, 0.85],
    close: [0.78, 0.81, 0.82],
    far: [0.50, 0.52, 0.55],
  };
  const trials = Object.entries(values).flatMap(([method, vs]) =>
    vs.map((v, seed) => trial(method, seed, { mAP: v, "P@10": v + (method === "top" ? 0.1 : 0) }))
  );
  const html = renderReport({ run: RUN, trials });
  const rows = [...html.matchAll(/<tr class="method-row">([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
  // mAP: top and close tied (≈), far unmarked; P@10: top best (bold).
  assert.match(rows[0], /<td class="tie" title="tied for best">0\.8233[^]*≈<\/td>/);
  assert.match(rows[1], /<td class="tie" title="tied for best">0\.8033/);
  assert.doesNotMatch(rows[2], /tie|best/);
  assert.match(rows[0], /<td class="best" title="best"><strong>0\.9233/);
  const sig = /<table class="significance">([\s\S]*?)<\/table>/.exec(html)![1];
  assert.match(sig, /<th>mAP<span class="pm">tie<\/span><\/th><th>P@10<span class="pm">best/);
  const sigRows = [...sig.matchAll(/<tr><td class="left method">([\s\S]*?)<\/tr>/g)].map((m) =>
    m[1]
  );
  assert.match(sigRows[0], /top<\/td><td class="top"[^>]*>top<\/td>$/);
  // close: top − close = 0.02, 0.01, 0.03 → t = 2√3 = 3.4641, df 2, p = 1 − 2√3/√14 = 0.0742.
  assert.match(sigRows[1], /<td class="tie" title="t = 3\.4641, df = 2, [^"]*">p = 0\.0742/);
  assert.match(sigRows[2], /<td class="sig" [^>]*>p = &lt;0\.0001<span class="pm">n=3/);
  assert.match(html, /paired t-test over seeds \(two-sided, matched by seed\)/);
});

Deno.test("two sweep axes: the first along x, the others as coloured series with a legend", () => {
  const trials: ReportTrial[] = ["pkt", "none"].flatMap((method, mi) =>
    [0.001, 0.01].flatMap((lr, li) =>
      [0, 1].map((seed) => ({
        ...trial(method, seed, { mAP: 0.5 + 0.1 * mi + 0.01 * li + 0.001 * seed }),
        label: `method=${method} student.lr=${lr} seed=${seed}`,
        params: { method, "student.lr": lr },
      }))
    )
  );
  const html = renderReport({ run: RUN, trials });
  assert.match(html, /<section id="map"><h2>mAP per method and student\.lr<\/h2>/);
  const svg = chart(html, "chart-map");
  assert.match(svg, /aria-label="mAP per method and student\.lr"/);
  const xlabels = [...svg.matchAll(/<text class="xlabel"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(xlabels, ["pkt", "none"]);
  const means = elements(svg, "line", "mean");
  assert.equal(means.length, 4);
  // One colour per student.lr, the same in both groups, named in the legend.
  assert.deepEqual(means.map((m) => m.stroke), [
    means[0].stroke,
    means[1].stroke,
    means[0].stroke,
    means[1].stroke,
  ]);
  assert.notEqual(means[0].stroke, means[1].stroke);
  const figure = /<section id="map">[\s\S]*?<\/figure>/.exec(html)![0];
  assert.match(
    figure,
    /<li class="legend-title">student\.lr:<\/li><li>.*student\.lr=0\.001<\/li><li>.*student\.lr=0\.01<\/li>/,
  );
  // The tables have a column per sweep axis.
  const table = /<table class="results">([\s\S]*?)<\/table>/.exec(html)![1];
  assert.match(table, /<th class="left">method<\/th><th class="left">student\.lr<\/th><th>seeds/);
  assert.match(
    table,
    /<td class="left method"><span[^>]*><\/span>none<\/td><td class="left">0\.01<\/td>/,
  );
  // Each mean's tooltip names its group and series.
  assert.deepEqual(means.map((m) => unescape(m["data-method"])), [
    "pkt, student.lr=0.001",
    "pkt, student.lr=0.01",
    "none, student.lr=0.001",
    "none, student.lr=0.01",
  ]);
});

Deno.test("the config section shows the settings that differ between methods, seeds aside", () => {
  const config = (loss: string, lr: number, seed: number) => ({
    teacher: { use: "trained-network", epochs: 4 },
    student: { use: "transfer", loss: { use: loss, weight: 1 }, lr, seed, epochs: 3 },
  });
  const trials: ReportTrial[] = [
    { ...trial("pkt", 1, { mAP: 0.5 }), config: config("pkt", 0.001, 1) },
    { ...trial("pkt", 0, { mAP: 0.5 }), config: config("pkt", 0.001, 0) },
    { ...trial("hinton", 0, { mAP: 0.4 }), config: config("hinton", 0.01, 0) },
  ];
  const html = renderReport({ run: RUN, trials });
  const diff = /<table class="config-diff">([\s\S]*?)<\/table>/.exec(html)![1];
  const rows = [...diff.matchAll(/<tr><td class="left"><code>([^<]*)<\/code><\/td>(.*?)<\/tr>/g)]
    .map((m) => [m[1], [...m[2].matchAll(/<code>([^<]*)<\/code>/g)].map((c) => c[1])]);
  assert.deepEqual(rows, [
    ["student.loss.use", ["pkt", "hinton"]],
    ["student.lr", ["0.001", "0.01"]],
  ]);
  assert.match(html, /The 2 settings that differ between methods[^<]*the other 6 are the same/);
  // The full config of each method comes from its lowest seed.
  assert.match(html, /pkt <span class="meta">\(trial <code>method=pkt,seed=0<\/code>\)/);
});

Deno.test("the report gives each trial's run time and each method's median", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 0, s)).toISOString();
  const timed = (method: string, seed: number, seconds: number): ReportTrial => ({
    ...trial(method, seed, { mAP: 0.5 }),
    started: at(0),
    finished: at(seconds),
  });
  const trials = [
    timed("pkt", 0, 4),
    timed("pkt", 1, 6),
    timed("pkt", 2, 30),
    { ...timed("none", 0, 1), status: "cached" as const },
  ];
  const html = renderReport({ run: RUN, trials });
  const rows = [...html.matchAll(/<tr class="method-row">([\s\S]*?)<\/tr>/g)].map((m) => m[1]);
  assert.match(rows[0], /<td class="time">6\.0 s<\/td>/, "median of 4, 6, 30 s");
  assert.match(rows[1], /<td class="time">—<\/td>/, "all cached");
  const trialRows = /<table class="trials">([\s\S]*?)<\/table>/.exec(html)![1];
  assert.match(trialRows, /<th>time<\/th>/);
  assert.match(trialRows, /method=pkt,seed=2[\s\S]*?<td class="time">30 s<\/td>/);
  assert.match(trialRows, /method=none,seed=0[\s\S]*?<td class="time">cached<\/td>/);
});

Deno.test("evaluation curves (evalEvery) get their own section, one chart per metric", () => {
  const withCurves = (method: string, seed: number, map: number[]): ReportTrial => ({
    ...trial(method, seed, { mAP: map[map.length - 1] }),
    curves: [
      ...[0.9, 0.5, 0.3].map((loss, epoch) => ({
        node: "student",
        epoch,
        loss,
        samplesPerSecond: 9,
      })),
      ...map.map((v, i) => ({
        node: "student",
        phase: "eval:mAP",
        epoch: 2 * i + 1,
        loss: v,
        samplesPerSecond: 0,
      })),
    ],
  });
  const html = renderReport({
    run: RUN,
    trials: [
      withCurves("pkt", 0, [0.3, 0.5]),
      withCurves("pkt", 1, [0.32, 0.52]),
      withCurves("none", 0, [0.25, 0.4]),
    ],
  });
  assert.match(html, /<section id="eval"><h2>Evaluation during training<\/h2>/);
  const svg = chart(html, "chart-eval-1");
  assert.match(svg, /aria-label="mAP"/);
  // Epochs 2 and 4 (1-based), the mean of the seeds: pkt 0.31 then 0.51.
  assert.match(svg, /pkt: epoch 2 → 0\.3100 ± 0\.0141/);
  assert.match(svg, /pkt: epoch 4 → 0\.5100/);
  // The loss chart shows the training loss only.
  const loss = chart(html, "chart-loss-1");
  assert.doesNotMatch(loss, /0\.3100/);
  assert.ok(!html.includes("chart-eval-2"));
  // Without evaluation curves there is no such section.
  assert.ok(!renderReport({ run: RUN, trials: [trial("a", 0, { mAP: 1 })] }).includes('id="eval"'));
});

Deno.test("renderReport() with one seed draws one dot per method and no whiskers", () => {
  const html = renderReport({
    run: RUN,
    trials: [trial("a", 0, { mAP: 0.4 }), trial("b", 0, { mAP: 0.2 })],
  });
  const svg = chart(html, "chart-map");
  const dots = elements(svg, "circle", "seed-point");
  const means = elements(svg, "line", "mean");
  assert.equal(dots.length, 2);
  assert.deepEqual(dots.map((d) => d.cy), means.map((m) => m.y1));
  assert.equal(elements(svg, "line", "err").length, 0);
  assert.ok(!html.includes("whiskers"));
});

Deno.test("renderReport() without mAP says so instead of drawing a bar chart", () => {
  const html = renderReport({ run: RUN, trials: [trial("a", 0, { accuracy: 0.9 })] });
  assert.ok(!html.includes('id="chart-map"'));
  assert.ok(html.includes("No mAP recorded"));
  assert.ok(html.includes("No precision@k recorded"));
  assert.ok(html.includes("No training curves recorded"));
});

Deno.test("renderReport() shows NaN metrics as NaN, draws no mean for them, and lists failures", () => {
  const html = renderReport({
    run: RUN,
    trials: [
      trial("a", 0, { mAP: NaN }),
      trial("b", 0, { mAP: 0.3 }),
      { ...trial("b", 1, {}), status: "failed", reason: `diverged <${"x".repeat(5000)}>` },
    ],
  });
  const means = elements(chart(html, "chart-map"), "line", "mean");
  assert.deepEqual(means.map((b) => b["data-method"]), ["b"]);
  assert.match(chart(html, "chart-map"), />n\/a</);
  assert.match(
    html,
    /<td class="left method">.*a<\/td><td>1<\/td><td>0<\/td><td class="time">[^<]*<\/td><td>NaN/,
  );
  const failed = /<tr class="failed-row">([\s\S]*?)<\/tr>/.exec(html);
  assert.ok(
    failed && failed[1].includes("method=b,seed=1") && failed[1].includes("diverged &lt;x"),
  );
  assert.ok(failed[1].includes("more characters"), "long reasons are cut");
});

Deno.test("loadReportInput() gives cached trials the curves of the earlier run that computed them", async () => {
  await withDir((dir) => {
    writeRun(dir);
    const db = openResults(dir);
    try {
      const first = db.trials(1);
      const run = db.startRun({ experiment: "report-test" });
      // The first trial's config changed since run 1: it must not borrow run 1's curves.
      const ids = db.addTrials(
        run,
        first.map((t, i) => ({
          ...t,
          config: i === 0 ? { changed: true } : t.config ?? undefined,
        })),
      );
      for (const id of ids) db.setTrialStatus(id, "cached");
    } finally {
      db.close();
    }
    const input = loadReportInput(dir);
    assert.equal(input.run.id, 2);
    const borrowed = input.trials.filter((t) => t.curvesFromRun === 1);
    assert.equal(borrowed.length, 5);
    assert.equal(input.trials[0].curves?.length, 0);
    assert.deepEqual(
      input.trials[1].curves?.filter((p) => p.node === "student").map((p) => p.loss),
      STUDENT_LOSS.pkt.map((l) => l + 0.1), // method=pkt,seed=1
    );
    assert.ok(renderReport(input).includes("come from run #1"));
  });
});

Deno.test("writeReport() writes <runDir>/report.html atomically and returns its path", async () => {
  await withDir(async (dir) => {
    writeRun(dir);
    const path = await writeReport(dir);
    assert.equal(path, join(dir, "report.html"));
    assert.ok((await Deno.readTextFile(path)).startsWith("<!DOCTYPE html>"));
    const out = join(dir, "custom.html");
    assert.equal(await writeReport(dir, { out, runId: 1 }), out);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.ok(!names.some((n) => n.endsWith(".tmp")), `leftover temp file in ${names}`);
  });
});

Deno.test("buildReport() explains a missing database or an unknown run id", async () => {
  await withDir((dir) => {
    assert.throws(
      () => buildReport(dir),
      (e) => e instanceof KtError && /no results database/.test(e.message),
    );
    writeRun(dir);
    assert.throws(
      () => buildReport(dir, 7),
      (e) => e instanceof KtError && /no run 7/.test(e.message) && /runs: 1/.test(e.hint ?? ""),
    );
  });
});

Deno.test("retrievalPrefix() charts the evaluation that differs between methods", () => {
  const trial = (method: string, seed: number, base: number, own: number) => ({
    params: { method },
    seed,
    status: "done",
    metrics: { "baseline_eval.mAP": base, "eval.mAP": own, "eval.P@10": own },
  });
  const table = comparisonTable([
    trial("pkt", 0, 0.5, 0.7),
    trial("pkt", 1, 0.6, 0.72),
    trial("none", 0, 0.5, 0.6),
    trial("none", 1, 0.6, 0.62),
  ]);
  assert.equal(retrievalPrefix(table), "eval.");
  assert.equal(retrievalPrefix(comparisonTable([trial("a", 0, 0.5, 0.5)])), "baseline_eval.");
  assert.equal(
    retrievalPrefix(comparisonTable([{ params: {}, status: "done", metrics: { acc: 1 } }])),
    undefined,
  );
});
