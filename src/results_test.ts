import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { holdLife } from "./liveness.ts";
import { openResults, readLatestRun, runLockPath, runNote, runState } from "./results.ts";
import { KtError } from "./errors.ts";

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-results-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("what one connection writes another connection reads back", async () => {
  await withDir((dir) => {
    const writer = openResults(dir);
    const reader = openResults(dir);
    try {
      const started = new Date(Date.UTC(2026, 10, 1, 12, 0, 0));
      const run = writer.startRun({
        experiment: "pkt-vs-baselines",
        file: "experiments/pkt.yaml",
        ktVersion: "0.1.0",
        ktCommit: "abc123",
        started,
      });
      const [t0, t1] = writer.addTrials(run, [
        { label: "method=pkt,seed=0", params: { method: "pkt" }, seed: 0, config: { epochs: 5 } },
        { label: "method=pkt,seed=1", params: { method: "pkt" }, seed: 1 },
      ]);
      const t2 = writer.addTrial(run, {
        label: "method=hinton,seed=0",
        params: { method: "hinton", "loss.T": 4 },
        seed: 0,
        status: "cached",
      });
      const at = new Date(Date.UTC(2026, 10, 1, 12, 5, 0));
      writer.setTrialStatus(t0, "running", { at });
      writer.setTrialStatus(t0, "done", { at: new Date(Date.UTC(2026, 10, 1, 12, 9, 0)) });
      writer.recordMetrics(t0, { mAP: 0.512, "P@10": 0.6, loss: NaN });
      writer.setTrialStatus(t1, "failed", { reason: "out of memory", at });
      writer.recordEpoch(t0, { node: "student", epoch: 1, loss: 0.5, samplesPerSecond: 800 });
      writer.recordEpoch(t0, { node: "student", epoch: 0, loss: 0.9, samplesPerSecond: 750 });
      writer.recordEpoch(t0, { node: "teacher", epoch: 0, loss: 1.2, samplesPerSecond: 300 });
      // Two phases of one node keep their own epochs; phases in the order first recorded.
      const point = (phase: string, epoch: number, loss: number) => ({
        node: "two-phase",
        phase,
        epoch,
        loss,
        samplesPerSecond: 1,
      });
      writer.recordEpoch(t0, point("ce", 1, 2));
      writer.recordEpoch(t0, point("ce", 0, 1));
      writer.recordEpoch(t0, point("transfer", 0, 3));
      writer.recordEpoch(t0, point("transfer", 1, NaN));
      writer.recordEpoch(t0, point("transfer", 0, 4)); // replaces transfer epoch 0
      writer.finishRun(run, new Date(Date.UTC(2026, 10, 1, 13, 0, 0)));

      assert.deepEqual(reader.runs(), [{
        id: run,
        experiment: "pkt-vs-baselines",
        file: "experiments/pkt.yaml",
        started: "2026-11-01T12:00:00.000Z",
        finished: "2026-11-01T13:00:00.000Z",
        ktVersion: "0.1.0",
        ktCommit: "abc123",
        status: "finished",
        holder: null,
        heartbeat: "2026-11-01T13:00:00.000Z",
      }]);
      assert.equal(reader.latestRun()?.id, run);

      const trials = reader.trials(run);
      assert.deepEqual(trials.map((t) => [t.id, t.label, t.status]), [
        [t0, "method=pkt,seed=0", "done"],
        [t1, "method=pkt,seed=1", "failed"],
        [t2, "method=hinton,seed=0", "cached"],
      ]);
      assert.equal(trials[0].started, "2026-11-01T12:05:00.000Z");
      assert.equal(trials[0].finished, "2026-11-01T12:09:00.000Z");
      assert.deepEqual(trials[0].config, { epochs: 5 });
      assert.equal(trials[0].metrics.mAP, 0.512);
      assert.equal(trials[0].metrics["P@10"], 0.6);
      assert.ok(Number.isNaN(trials[0].metrics.loss), "NaN survives as NaN");
      assert.equal(trials[1].reason, "out of memory");
      assert.equal(
        trials[1].started,
        "2026-11-01T12:05:00.000Z",
        "failed without running: started stamped",
      );
      assert.deepEqual(trials[1].metrics, {});
      assert.deepEqual(trials[2].params, { method: "hinton", "loss.T": 4 });
      assert.equal(trials[2].config, null);

      assert.deepEqual(reader.curves(t0), [
        { node: "student", epoch: 0, loss: 0.9, samplesPerSecond: 750 },
        { node: "student", epoch: 1, loss: 0.5, samplesPerSecond: 800 },
        { node: "teacher", epoch: 0, loss: 1.2, samplesPerSecond: 300 },
        { node: "two-phase", phase: "ce", epoch: 0, loss: 1, samplesPerSecond: 1 },
        { node: "two-phase", phase: "ce", epoch: 1, loss: 2, samplesPerSecond: 1 },
        { node: "two-phase", phase: "transfer", epoch: 0, loss: 4, samplesPerSecond: 1 },
        { node: "two-phase", phase: "transfer", epoch: 1, loss: NaN, samplesPerSecond: 1 },
      ]);
    } finally {
      writer.close();
      reader.close();
    }
  });
});

Deno.test("the results file is in WAL mode with the schema a plain SQLite client sees", async () => {
  await withDir((dir) => {
    openResults(dir).close();
    const raw = new DatabaseSync(join(dir, "results.sqlite"));
    try {
      assert.equal(raw.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      const tables = raw.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      )
        .all().map((r) => r.name).filter((n) => n !== "sqlite_sequence");
      assert.deepEqual(tables, ["curves", "metrics", "reference_metrics", "runs", "trials"]);
      assert.equal(raw.prepare("PRAGMA user_version").get()?.user_version, 3);
    } finally {
      raw.close();
    }
  });
});

Deno.test("recording a metric twice keeps the last value; duplicate labels are rejected", async () => {
  await withDir((dir) => {
    const db = openResults(dir);
    try {
      const run = db.startRun({ experiment: "e" });
      const t = db.addTrial(run, { label: "a", params: {}, seed: 0 });
      db.recordMetrics(t, { mAP: 0.1 });
      db.recordMetrics(t, { mAP: 0.2 });
      assert.deepEqual(db.trials(run)[0].metrics, { mAP: 0.2 });
      assert.throws(() => db.addTrial(run, { label: "a", params: {}, seed: 1 }), /UNIQUE/);
      // The failed batch insert left nothing behind (one transaction).
      assert.throws(() =>
        db.addTrials(run, [
          { label: "b", params: {}, seed: 0 },
          { label: "b", params: {}, seed: 1 },
        ])
      );
      assert.deepEqual(db.trials(run).map((x) => x.label), ["a"]);
      assert.throws(
        () => db.setTrialStatus(t, "finished" as never),
        (e) => e instanceof KtError && /queued, running/.test(e.hint!),
      );
    } finally {
      db.close();
    }
  });
});

Deno.test("a trial's reference metrics come back apart from its own, by node, NaN included", async () => {
  await withDir((dir) => {
    const db = openResults(dir);
    try {
      const run = db.startRun({ experiment: "e" });
      const [a, b] = db.addTrials(run, [
        { label: "a", params: {}, seed: 0 },
        { label: "b", params: {}, seed: 1 },
      ]);
      const teacher = { node: "teacher_eval", label: "teacher", key: "k-t", metrics: { mAP: 0.9 } };
      db.recordMetrics(a, { mAP: 0.5 }, [
        teacher,
        {
          node: "baseline_eval",
          label: "plain student",
          key: "k-b0",
          metrics: { mAP: NaN, qmi: 1 },
        },
      ]);
      db.recordMetrics(b, { mAP: 0.6 });
      const [ta, tb] = db.trials(run);
      assert.deepEqual(ta.metrics, { mAP: 0.5 });
      assert.deepEqual(ta.references.map((r) => [r.node, r.label, r.key]), [
        ["teacher_eval", "teacher", "k-t"],
        ["baseline_eval", "plain student", "k-b0"],
      ]);
      assert.deepEqual(ta.references[0].metrics, { mAP: 0.9 });
      assert.ok(Number.isNaN(ta.references[1].metrics.mAP));
      assert.equal(ta.references[1].metrics.qmi, 1);
      assert.deepEqual(tb.references, []);
    } finally {
      db.close();
    }
  });
});

/** The tables kt wrote in schema 1 (schema 2 added reference_metrics). */
const SCHEMA_1 = `
  CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, experiment TEXT NOT NULL, file TEXT,
    started TEXT NOT NULL, finished TEXT, kt_version TEXT, kt_commit TEXT);
  CREATE TABLE trials (id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, label TEXT NOT NULL,
    params TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN
    ('queued','running','done','failed','cached')), reason TEXT, started TEXT, finished TEXT,
    config TEXT, UNIQUE (run_id, label));
  CREATE TABLE metrics (trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    name TEXT NOT NULL, value REAL, PRIMARY KEY (trial_id, name));
  CREATE TABLE curves (trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    node TEXT NOT NULL, phase TEXT NOT NULL DEFAULT '', epoch INTEGER NOT NULL, loss REAL,
    samples_per_s REAL, PRIMARY KEY (trial_id, node, phase, epoch));
`;

Deno.test("a version-1 results file (before references) opens, reads back and takes references", async () => {
  await withDir(async (dir) => {
    // The schema kt wrote before version 2, with one finished trial.
    const raw = new DatabaseSync(join(dir, "results.sqlite"));
    raw.exec(`${SCHEMA_1}
      INSERT INTO runs (experiment, started) VALUES ('old', '2026-01-01T00:00:00.000Z');
      INSERT INTO trials (run_id, label, params, seed, status) VALUES (1, 'm=a', '{"m":"a"}', 0, 'done');
      INSERT INTO metrics VALUES (1, 'eval.mAP', 0.5), (1, 'teacher_eval.mAP', 0.9);
      PRAGMA user_version = 1;
    `);
    raw.close();
    const db = openResults(dir);
    try {
      const [old] = db.trials(1);
      assert.deepEqual(old.metrics, { "eval.mAP": 0.5, "teacher_eval.mAP": 0.9 });
      assert.deepEqual(old.references, []);
      const run = db.startRun({ experiment: "new" });
      const t = db.addTrial(run, { label: "m=a", params: { m: "a" }, seed: 0 });
      db.recordMetrics(t, { mAP: 0.5 }, [
        { node: "teacher_eval", label: "teacher", key: "k", metrics: { mAP: 0.9 } },
      ]);
      assert.deepEqual(db.trials(run)[0].references[0].metrics, { mAP: 0.9 });
      // Schema 3: the new statuses; the old run never said it finished, so it reads as stale.
      db.setTrialStatus(1, "diverged", { reason: "loss grew" });
      assert.equal(db.trials(1)[0].status, "diverged");
      assert.deepEqual(db.trials(1)[0].metrics, { "eval.mAP": 0.5, "teacher_eval.mAP": 0.9 });
      const [oldRun] = db.runs();
      assert.equal(oldRun.status, "running");
      assert.equal(await runState(oldRun, dir), "stale");
    } finally {
      db.close();
    }
    const check = new DatabaseSync(join(dir, "results.sqlite"));
    assert.equal(check.prepare("PRAGMA user_version").get()?.user_version, 3);
    check.close();
  });
});

Deno.test("two processes writing at once both land every row", async () => {
  await withDir(async (dir) => {
    const db = openResults(dir);
    const run = db.startRun({ experiment: "concurrent" });
    const script = join(dir, "writer.ts");
    await Deno.writeTextFile(
      script,
      `import { openResults } from ${JSON.stringify(import.meta.resolve("./results.ts"))};
      const [dir, run, who] = Deno.args;
      const db = openResults(dir, { busyTimeoutMs: 10000 });
      for (let i = 0; i < 150; i++) {
        const t = db.addTrial(Number(run), { label: who + i, params: { who }, seed: i });
        db.setTrialStatus(t, "running");
        db.recordMetrics(t, { mAP: i / 1000, "P@10": i });
        db.recordEpoch(t, { node: "s", epoch: 0, loss: i, samplesPerSecond: 1 });
        db.setTrialStatus(t, "done");
      }
      db.close();`,
    );
    const spawn = (who: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-check", "--allow-read", "--allow-write", script, dir, String(run), who],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const outs = await Promise.all([spawn("a"), spawn("b")]);
    for (const o of outs) assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    const trials = db.trials(run);
    db.close();
    assert.equal(trials.length, 300);
    assert.ok(trials.every((t) => t.status === "done" && Object.keys(t.metrics).length === 2));
    for (const who of ["a", "b"]) {
      const mine = trials.filter((t) => t.params.who === who);
      assert.deepEqual(
        mine.map((t) => t.metrics["P@10"]),
        Array.from({ length: 150 }, (_, i) => i),
      );
    }
  });
});

Deno.test("a version-2 file gains the new statuses and run columns, keeping every row and cascade", async () => {
  await withDir((dir) => {
    // The schema kt wrote before version 3, with a finished run and one trial's rows.
    const raw = new DatabaseSync(join(dir, "results.sqlite"));
    raw.exec(`${SCHEMA_1}
      CREATE TABLE reference_metrics (trial_id INTEGER NOT NULL REFERENCES trials(id)
        ON DELETE CASCADE, node TEXT NOT NULL, label TEXT NOT NULL, key TEXT NOT NULL,
        name TEXT NOT NULL, value REAL, PRIMARY KEY (trial_id, node, name));
      INSERT INTO runs (experiment, started, finished) VALUES ('old', '2026-01-01T00:00:00Z',
        '2026-01-01T01:00:00Z');
      INSERT INTO trials (run_id, label, params, seed, status) VALUES (1, 'a', '{}', 0, 'done');
      INSERT INTO metrics VALUES (1, 'mAP', 0.5);
      INSERT INTO curves VALUES (1, 's', '', 0, 0.7, 10);
      INSERT INTO reference_metrics VALUES (1, 't', 'teacher', 'k', 'mAP', 0.9);
      PRAGMA user_version = 2;
    `);
    raw.close();
    const db = openResults(dir);
    try {
      const [run] = db.runs();
      assert.equal(run.status, "finished", "a run that recorded its end finished");
      const [t] = db.trials(1);
      assert.deepEqual([t.label, t.status, t.metrics], ["a", "done", { mAP: 0.5 }]);
      assert.deepEqual(t.references.map((r) => r.metrics), [{ mAP: 0.9 }]);
      assert.equal(db.curves(1).length, 1);
      db.setTrialStatus(1, "interrupted");
      assert.equal(db.trials(1)[0].status, "interrupted");
    } finally {
      db.close();
    }
    const check = new DatabaseSync(join(dir, "results.sqlite"));
    try {
      check.exec("PRAGMA foreign_keys = ON");
      assert.deepEqual(check.prepare("PRAGMA foreign_key_check").all(), []);
      check.exec("DELETE FROM runs WHERE id = 1");
      const left = (table: string) =>
        Number(check.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get()?.n);
      assert.deepEqual(["trials", "metrics", "curves", "reference_metrics"].map(left), [
        0,
        0,
        0,
        0,
      ]);
    } finally {
      check.close();
    }
  });
});

Deno.test("runState(): a running run whose sweep no longer holds its life lock is stale", async () => {
  await withDir(async (dir) => {
    const now = new Date();
    const run = { id: 7, status: "running" as const, heartbeat: now.toISOString() };
    assert.equal(await runState(run, dir, undefined, now), "stale", "no lock file: never held");
    const life = await holdLife(runLockPath(dir, 7));
    assert.equal(await runState(run, dir, undefined, now), "running");
    life!.release();
    assert.equal(await runState(run, dir, undefined, now), "stale", "its sweep is gone");
    assert.equal(await runState({ ...run, status: "interrupted" }, dir), "interrupted");
  });
});

Deno.test("runNote() says how an incomplete run ended and which trials are missing", () => {
  const trials = [
    { label: "a", status: "done" as const },
    { label: "b", status: "running" as const },
    { label: "c", status: "queued" as const },
  ];
  const gone = { id: 4, holder: { pid: 4242, host: "box" } };
  assert.equal(
    runNote(gone, "stale", trials),
    "run 4 is incomplete: its sweep (pid 4242 on box) stopped without finishing (killed?); " +
      "2 of 3 trials missing: b (never finished), c (never finished) — rerun the sweep to finish " +
      "it (cached work is reused)",
  );
  assert.match(
    runNote(gone, "running", trials)!,
    /^run 4 is still running \(pid 4242 on box\): 2 of 3 trials not finished yet/,
  );
  assert.equal(
    runNote({ id: 5, holder: null }, "failed", [
      { label: "a", status: "done" },
      { label: "b", status: "diverged" },
    ]),
    "run 5 finished with 1 of 2 trials failed: b (diverged)",
  );
  assert.equal(
    runNote({ id: 6, holder: null }, "finished", [{ label: "a", status: "cached" }]),
    undefined,
  );
});

Deno.test("readLatestRun: the last run's trials; no database or no run is a KtError", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "nothing-here");
    assert.throws(
      () => readLatestRun(missing),
      (e) => e instanceof KtError && /no results/.test(e.message),
    );
    assert.equal(await Deno.stat(missing).then(() => true, () => false), false, "nothing created");
    openResults(dir).close();
    assert.throws(
      () => readLatestRun(dir),
      (e) => e instanceof KtError && /no run recorded/.test(e.message),
    );
    const db = openResults(dir);
    try {
      const first = db.startRun({ experiment: "e" });
      db.addTrial(first, { label: "old", params: {}, seed: 0 });
      const second = db.startRun({ experiment: "e" });
      db.addTrial(second, { label: "new", params: {}, seed: 1 });
    } finally {
      db.close();
    }
    const { run, trials } = readLatestRun(dir);
    assert.equal(run.experiment, "e");
    assert.deepEqual(trials.map((t) => t.label), ["new"]);
  });
});
