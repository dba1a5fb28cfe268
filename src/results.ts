/**
 * The results database of a run directory: `<runDir>/results.sqlite`, an embedded SQLite file
 * (`node:sqlite`) holding runs, trials, their metrics and per-epoch training curves.
 *
 * Several processes (the scheduler and its workers) may write at once: the file uses WAL mode,
 * every multi-statement write is one `BEGIN IMMEDIATE` transaction, and a busy timeout makes a
 * writer wait for the lock instead of failing with `SQLITE_BUSY`.
 *
 * Times are ISO-8601 strings. NaN metric values (SQLite has no NaN) are stored as NULL and read
 * back as NaN.
 *
 * A trial's metrics are those of the method it runs; the metrics of the references it measures
 * alongside (the teacher, the plain student) are kept apart, each with its node's cache key so
 * that the table counts a measurement shared by many trials once. Schema history: 1 → 2 added
 * `reference_metrics` (opening a version-1 file adds the empty table; its trials have no
 * references); 2 → 3 added the trial statuses `diverged` and `interrupted` and, per run, how it
 * ended (`status`) and who runs it (`pid`, `host`, `heartbeat`); while it runs, its sweep holds
 * the life lock `<runDir>/run-<id>.lock`, so a run whose sweep was killed is recognised as stale
 * ({@linkcode runState}).
 *
 * ```ts
 * import { openResults } from "./results.ts";
 * const dir = await Deno.makeTempDir();
 * const db = openResults(dir);
 * const run = db.startRun({ experiment: "quickstart" });
 * const trial = db.addTrial(run, { label: "pkt/seed=0", params: { method: "pkt" }, seed: 0 });
 * db.setTrialStatus(trial, "done");
 * db.recordMetrics(trial, { mAP: 0.51 });
 * db.trials(run)[0].metrics; // { mAP: 0.51 }
 * db.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { DatabaseSync, type SQLInputValue, type SQLOutputValue } from "node:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CurvePoint } from "./api.ts";
import type { JsonValue } from "./canonical.ts";
import { KtError } from "./errors.ts";
import { isFinished, type ReferenceResult } from "./table.ts";
import { join as joinPath } from "node:path";
import { type Holder, isAbandoned, isHeld } from "./liveness.ts";

/**
 * Life cycle of a trial. `cached` = every node came from the cache; `diverged` = its training
 * loss exploded (NaN/Inf or by orders of magnitude); `interrupted` = the sweep was stopped
 * (Ctrl-C) before it finished.
 */
export type TrialStatus =
  | "queued"
  | "running"
  | "done"
  | "failed"
  | "cached"
  | "diverged"
  | "interrupted";

/** The statuses, in life-cycle order. */
export const TRIAL_STATUSES: readonly TrialStatus[] = [
  "queued",
  "running",
  "done",
  "failed",
  "cached",
  "diverged",
  "interrupted",
];

/** How a run (one sweep invocation) ended; `running` while its sweep runs (or was killed). */
export type RunStatus = "running" | "finished" | "failed" | "interrupted";

/** What {@linkcode ResultsDb.startRun} records. */
export interface NewRun {
  /** The experiment's name. */
  experiment: string;
  /** The experiment YAML file. */
  file?: string;
  /** kt's version. */
  ktVersion?: string;
  /** kt's git commit, when known. */
  ktCommit?: string;
  /** When the run started (default: now). */
  started?: Date;
  /** The sweep process (default: none recorded). */
  holder?: Holder;
}

/** One run (one invocation of a sweep). */
export interface RunRow {
  /** Id in the database. */
  id: number;
  /** The experiment's name. */
  experiment: string;
  /** The experiment YAML file. */
  file: string | null;
  /** When it started (ISO 8601). */
  started: string;
  /** When it ended (ISO 8601), if it did. */
  finished: string | null;
  /** kt's version. */
  ktVersion: string | null;
  /** kt's git commit, when known. */
  ktCommit: string | null;
  /** How it ended; `running` also for a sweep that was killed (see {@linkcode runState}). */
  status: RunStatus;
  /** The sweep process, when recorded. */
  holder: Holder | null;
  /** Last sign of life of a running sweep. */
  heartbeat: string | null;
}

/** What {@linkcode ResultsDb.addTrial} records. */
export interface NewTrial {
  /** Unique within the run, e.g. `method=pkt,seed=1`. */
  label: string;
  /** The sweep parameters of this trial (axis path → value). */
  params: Record<string, JsonValue>;
  /** The trial's seed. */
  seed: number;
  /** Its status (default `queued`). */
  status?: TrialStatus;
  /** The fully resolved experiment config of this trial. */
  config?: JsonValue;
}

/** One trial with its metrics. */
export interface TrialRow {
  /** Id in the database. */
  id: number;
  /** Id of its run. */
  runId: number;
  /** Unique within the run, e.g. `method=pkt,seed=1`. */
  label: string;
  /** The sweep parameters of this trial (axis path → value). */
  params: Record<string, JsonValue>;
  /** The trial's seed. */
  seed: number;
  /** Its status. */
  status: TrialStatus;
  /** Why it failed (or other note). */
  reason: string | null;
  /** When it started (ISO 8601), if it did. */
  started: string | null;
  /** When it ended (ISO 8601), if it did. */
  finished: string | null;
  /** The fully resolved experiment config of this trial. */
  config: JsonValue | null;
  /** The method's metrics, by name. */
  metrics: Record<string, number>;
  /** The references measured in this trial, in the order they were recorded. */
  references: ReferenceRow[];
}

/** The metrics of one reference node (teacher, plain student) in one trial. */
export interface ReferenceRow extends ReferenceResult {
  /** The evaluate node that measured it. */
  node: string;
}

/** One epoch of one training node of a trial. */
export interface EpochPoint extends CurvePoint {
  /** The training node the point is from. */
  node: string;
}

/** Options of {@linkcode openResults}. */
export interface ResultsOptions {
  /** How long a writer waits for another process's lock before failing. Default 30 s. */
  busyTimeoutMs?: number;
}

const SCHEMA_VERSION = 3;
const TRIALS_TABLE = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  params TEXT NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${TRIAL_STATUSES.map((s) => `'${s}'`).join(",")})),
  reason TEXT,
  started TEXT,
  finished TEXT,
  config TEXT,
  UNIQUE (run_id, label)
);`;
const RUN_COLUMNS_3 = [
  "status TEXT NOT NULL DEFAULT 'running'",
  "pid INTEGER",
  "host TEXT",
  "heartbeat TEXT",
];
const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  experiment TEXT NOT NULL,
  file TEXT,
  started TEXT NOT NULL,
  finished TEXT,
  kt_version TEXT,
  kt_commit TEXT,
  ${RUN_COLUMNS_3.join(",\n  ")}
);
${TRIALS_TABLE("trials")}
CREATE TABLE IF NOT EXISTS metrics (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (trial_id, name)
);
CREATE TABLE IF NOT EXISTS curves (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  node TEXT NOT NULL,
  phase TEXT NOT NULL DEFAULT '',
  epoch INTEGER NOT NULL,
  loss REAL,
  samples_per_s REAL,
  PRIMARY KEY (trial_id, node, phase, epoch)
);
CREATE TABLE IF NOT EXISTS reference_metrics (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  node TEXT NOT NULL,
  label TEXT NOT NULL,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (trial_id, node, name)
);
`;

/**
 * Throws a {@linkcode KtError} unless `<runDir>/results.sqlite` exists (so reading commands do
 * not create an empty database in a mistyped directory).
 */
export function requireResults(runDir: string): void {
  try {
    statSync(join(runDir, "results.sqlite"));
  } catch {
    throw new KtError(`no results database in ${resolve(runDir)}`, {
      hint:
        "give the run directory printed by `sweep` (default runs/<name>) or the experiment file",
    });
  }
}

/**
 * The latest run in `<runDir>/results.sqlite` and its trials, for a script that reads one run:
 * throws {@linkcode KtError} when there is no database (none is created) or no run in it.
 */
export function readLatestRun(runDir: string): { run: RunRow; trials: TrialRow[] } {
  requireResults(runDir);
  const db = openResults(runDir);
  try {
    const run = db.latestRun();
    if (!run) {
      throw new KtError(`no run recorded in ${resolve(runDir, "results.sqlite")}`, {
        hint: "run the experiment first: deno task sweep <file>",
      });
    }
    return { run, trials: db.trials(run.id) };
  } finally {
    db.close();
  }
}

/**
 * Opens (creating if needed) `<runDir>/results.sqlite`. Throws {@linkcode KtError} with the path
 * and a fix when it cannot be created or opened.
 */
export function openResults(runDir: string, options: ResultsOptions = {}): ResultsDb {
  const path = join(runDir, "results.sqlite");
  let db: DatabaseSync;
  try {
    mkdirSync(runDir, { recursive: true });
    db = new DatabaseSync(path, {
      timeout: options.busyTimeoutMs ?? 30_000,
      enableForeignKeyConstraints: true,
    });
  } catch (e) {
    throw new KtError(`cannot open the results database: ${(e as Error).message}`, {
      where: path,
      hint: e instanceof Deno.errors.NotCapable
        ? "run with --allow-read --allow-write for the run directory"
        : "check that the run directory is writable, or choose another one",
      cause: e,
    });
  }
  return new ResultsDb(db, path);
}

/** An open results database. Create it with {@linkcode openResults}; `close()` it when done. */
export class ResultsDb {
  /** Path of the SQLite file. */
  readonly path: string;
  #db: DatabaseSync;

  /** Use {@linkcode openResults}. */
  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.path = path;
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    this.#migrate();
    this.#tx(() => {
      const version = Number(this.#one("PRAGMA user_version")?.user_version ?? 0);
      if (version > SCHEMA_VERSION) {
        throw new KtError(
          `results database has schema ${version}; this kt knows ${SCHEMA_VERSION}`,
          {
            where: path,
            hint: "open it with a newer kt, or use a fresh run directory",
          },
        );
      }
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    });
  }

  /** Records a new run (status `running`) and returns its id. */
  startRun(run: NewRun): number {
    const started = (run.started ?? new Date()).toISOString();
    return this.#insert(
      "INSERT INTO runs (experiment, file, started, kt_version, kt_commit, status, pid, host, " +
        "heartbeat) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
      run.experiment,
      run.file ?? null,
      started,
      run.ktVersion ?? null,
      run.ktCommit ?? null,
      run.holder?.pid ?? null,
      run.holder?.host ?? null,
      started,
    );
  }

  /**
   * Marks every unfinished (queued or running) trial of a run interrupted with `reason`, and
   * the run interrupted: for a sweep that leaves at once (a second Ctrl-C).
   */
  markInterrupted(runId: number, reason: string, at: Date = new Date()): void {
    this.#tx(() => {
      this.#run(
        "UPDATE trials SET status = 'interrupted', reason = ?, finished = ? " +
          "WHERE run_id = ? AND status IN ('queued', 'running')",
        reason,
        at.toISOString(),
        runId,
      );
      this.#run(
        "UPDATE runs SET status = 'interrupted', finished = ? WHERE id = ?",
        at.toISOString(),
        runId,
      );
    });
  }

  /** Records that a running run's sweep is alive. */
  heartbeat(runId: number, at: Date = new Date()): void {
    this.#run("UPDATE runs SET heartbeat = ? WHERE id = ?", at.toISOString(), runId);
  }

  /** Records how a run ended (default `finished`). */
  finishRun(runId: number, finished: Date = new Date(), status: RunStatus = "finished"): void {
    this.#run(
      "UPDATE runs SET finished = ?, status = ?, heartbeat = ? WHERE id = ?",
      finished.toISOString(),
      status,
      finished.toISOString(),
      runId,
    );
  }

  /** Records one trial (status `queued` unless given) and returns its id. */
  addTrial(runId: number, trial: NewTrial): number {
    return this.addTrials(runId, [trial])[0];
  }

  /** Records several trials in one transaction; returns their ids in order. */
  addTrials(runId: number, trials: readonly NewTrial[]): number[] {
    return this.#tx(() =>
      trials.map((t) =>
        this.#insert(
          "INSERT INTO trials (run_id, label, params, seed, status, config) VALUES (?, ?, ?, ?, ?, ?)",
          runId,
          t.label,
          JSON.stringify(t.params),
          t.seed,
          checkStatus(t.status ?? "queued"),
          t.config === undefined ? null : JSON.stringify(t.config),
        )
      )
    );
  }

  /**
   * Sets a trial's status. `running` stamps `started`; `done`, `failed` and `cached` stamp
   * `finished` (and `started`, if it was never set). `reason` says why a trial failed.
   */
  setTrialStatus(
    trialId: number,
    status: TrialStatus,
    options: { reason?: string; at?: Date } = {},
  ): void {
    checkStatus(status);
    const at = (options.at ?? new Date()).toISOString();
    const reason = options.reason ?? null;
    if (status === "queued") {
      this.#run(
        "UPDATE trials SET status = ?, reason = ?, started = NULL, finished = NULL WHERE id = ?",
        status,
        reason,
        trialId,
      );
    } else if (status === "running") {
      this.#run(
        "UPDATE trials SET status = ?, reason = ?, started = ?, finished = NULL WHERE id = ?",
        status,
        reason,
        at,
        trialId,
      );
    } else {
      this.#run(
        "UPDATE trials SET status = ?, reason = ?, started = COALESCE(started, ?), finished = ? " +
          "WHERE id = ?",
        status,
        reason,
        at,
        at,
        trialId,
      );
    }
  }

  /**
   * Stores (or replaces) named metric values of a trial and of the references it measured, in
   * one transaction.
   */
  recordMetrics(
    trialId: number,
    metrics: Record<string, number>,
    references: readonly ReferenceRow[] = [],
  ): void {
    this.#tx(() => {
      for (const [name, value] of Object.entries(metrics)) {
        this.#run(
          "INSERT OR REPLACE INTO metrics (trial_id, name, value) VALUES (?, ?, ?)",
          trialId,
          name,
          real(value),
        );
      }
      for (const ref of references) {
        for (const [name, value] of Object.entries(ref.metrics)) {
          this.#run(
            "INSERT OR REPLACE INTO reference_metrics (trial_id, node, label, key, name, value) " +
              "VALUES (?, ?, ?, ?, ?, ?)",
            trialId,
            ref.node,
            ref.label,
            ref.key,
            name,
            real(value),
          );
        }
      }
    });
  }

  /** Stores (or replaces) one epoch of a training curve. */
  recordEpoch(trialId: number, point: EpochPoint): void {
    this.#run(
      "INSERT OR REPLACE INTO curves (trial_id, node, phase, epoch, loss, samples_per_s) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
      trialId,
      point.node,
      point.phase ?? "",
      point.epoch,
      real(point.loss),
      real(point.samplesPerSecond),
    );
  }

  /** All runs, oldest first. */
  runs(): RunRow[] {
    return this.#all("SELECT * FROM runs ORDER BY id").map(toRun);
  }

  /** The most recent run, if any. */
  latestRun(): RunRow | undefined {
    const row = this.#one("SELECT * FROM runs ORDER BY id DESC LIMIT 1");
    return row ? toRun(row) : undefined;
  }

  /** The trials of a run in insertion order, each with its metrics. */
  trials(runId: number): TrialRow[] {
    const metrics = new Map<number, Record<string, number>>();
    for (
      const m of this.#all(
        "SELECT m.trial_id, m.name, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id " +
          "WHERE t.run_id = ? ORDER BY m.rowid",
        runId,
      )
    ) {
      const id = Number(m.trial_id);
      const record = metrics.get(id) ?? {};
      record[String(m.name)] = num(m.value);
      metrics.set(id, record);
    }
    const references = new Map<number, Map<string, ReferenceRow>>();
    for (
      const m of this.#all(
        "SELECT m.trial_id, m.node, m.label, m.key, m.name, m.value FROM reference_metrics m " +
          "JOIN trials t ON t.id = m.trial_id WHERE t.run_id = ? ORDER BY m.rowid",
        runId,
      )
    ) {
      const id = Number(m.trial_id);
      const nodes = references.get(id) ?? new Map<string, ReferenceRow>();
      const node = String(m.node);
      const ref = nodes.get(node) ??
        { node, label: String(m.label), key: String(m.key), metrics: {} };
      ref.metrics[String(m.name)] = num(m.value);
      nodes.set(node, ref);
      references.set(id, nodes);
    }
    return this.#all("SELECT * FROM trials WHERE run_id = ? ORDER BY id", runId).map((r) => ({
      id: Number(r.id),
      runId: Number(r.run_id),
      label: String(r.label),
      params: JSON.parse(String(r.params)) as Record<string, JsonValue>,
      seed: Number(r.seed),
      status: String(r.status) as TrialStatus,
      reason: str(r.reason),
      started: str(r.started),
      finished: str(r.finished),
      config: r.config === null ? null : JSON.parse(String(r.config)) as JsonValue,
      metrics: metrics.get(Number(r.id)) ?? {},
      references: [...references.get(Number(r.id))?.values() ?? []],
    }));
  }

  /**
   * The training curve of a trial: by node, then phases in the order they were first recorded,
   * then epoch.
   */
  curves(trialId: number): EpochPoint[] {
    return this.#all(
      "SELECT c.node, c.phase, c.epoch, c.loss, c.samples_per_s FROM curves c " +
        "JOIN (SELECT node, phase, MIN(rowid) AS first FROM curves WHERE trial_id = ? " +
        "GROUP BY node, phase) p ON p.node = c.node AND p.phase = c.phase " +
        "WHERE c.trial_id = ? ORDER BY c.node, p.first, c.epoch",
      trialId,
      trialId,
    ).map((r) => ({
      node: String(r.node),
      ...(r.phase ? { phase: String(r.phase) } : {}),
      epoch: Number(r.epoch),
      loss: num(r.loss),
      samplesPerSecond: num(r.samples_per_s),
    }));
  }

  /** Closes the connection. */
  close(): void {
    this.#db.close();
  }

  #run(sql: string, ...params: SQLInputValue[]): void {
    this.#db.prepare(sql).run(...params);
  }

  #insert(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#db.prepare(sql).run(...params).lastInsertRowid);
  }

  #all(sql: string, ...params: SQLInputValue[]): Record<string, SQLOutputValue>[] {
    return this.#db.prepare(sql).all(...params);
  }

  #one(sql: string, ...params: SQLInputValue[]): Record<string, SQLOutputValue> | undefined {
    return this.#db.prepare(sql).get(...params);
  }

  /**
   * Brings a file of an older schema to this one. Schema 3 widens the trials' status check,
   * which SQLite can only do by rebuilding the table (foreign keys off, so its metrics stay).
   */
  #migrate(): void {
    const version = () => Number(this.#one("PRAGMA user_version")?.user_version ?? 0);
    if (version() === 0 || version() >= 3) return;
    this.#db.exec("PRAGMA foreign_keys = OFF");
    try {
      this.#tx(() => {
        if (version() >= 3) return; // another process migrated it meanwhile
        this.#db.exec(TRIALS_TABLE("trials_v3"));
        this.#db.exec(
          "INSERT INTO trials_v3 (id, run_id, label, params, seed, status, reason, started, " +
            "finished, config) SELECT id, run_id, label, params, seed, status, reason, started, " +
            "finished, config FROM trials",
        );
        this.#db.exec("DROP TABLE trials");
        this.#db.exec("ALTER TABLE trials_v3 RENAME TO trials");
        for (const column of RUN_COLUMNS_3) this.#db.exec(`ALTER TABLE runs ADD COLUMN ${column}`);
        // Runs recorded before schema 3 that were finished say so; the others stay `running`.
        this.#db.exec("UPDATE runs SET status = 'finished' WHERE finished IS NOT NULL");
        this.#db.exec("PRAGMA user_version = 3");
      });
    } finally {
      this.#db.exec("PRAGMA foreign_keys = ON");
    }
  }

  /** Runs `fn` in a write transaction taken up front, so concurrent writers queue on the lock. */
  #tx<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }
}

/** A run's state as a reader sees it: its recorded status, or `stale` (see {@linkcode runState}). */
export type RunState = RunStatus | "stale";

/** The life lock a sweep holds while it runs run `runId` of `runDir` (see `liveness.ts`). */
export function runLockPath(runDir: string, runId: number): string {
  return joinPath(runDir, `run-${runId}.lock`);
}

/**
 * How a run of `runDir` stands: its recorded status; a `running` run whose sweep is gone — it
 * no longer holds the run's life lock ({@linkcode runLockPath}), or, where the file system
 * cannot tell, no heartbeat for `staleMs` (default 10 min) — is `stale`: it was killed and will
 * never finish.
 *
 * @example
 * ```ts
 * import { runState } from "./results.ts";
 * const dir = await Deno.makeTempDir();
 * const run = { id: 1, status: "running" as const, holder: null, heartbeat: null };
 * await runState(run, dir); // "stale": nobody holds its lock
 * await Deno.remove(dir);
 * ```
 */
export async function runState(
  run: Pick<RunRow, "id" | "status" | "heartbeat">,
  runDir: string,
  staleMs = 10 * 60_000,
  now: Date = new Date(),
): Promise<RunState> {
  if (run.status !== "running") return run.status;
  const held = await isHeld(runLockPath(runDir, run.id));
  const heartbeat = new Date(run.heartbeat ?? 0);
  return isAbandoned(held, heartbeat, staleMs, now) ? "stale" : "running";
}

function checkStatus(status: TrialStatus): TrialStatus {
  if (!TRIAL_STATUSES.includes(status)) {
    throw new KtError(`unknown trial status "${status}"`, {
      hint: `use one of ${TRIAL_STATUSES.join(", ")}`,
    });
  }
  return status;
}

function toRun(r: Record<string, SQLOutputValue>): RunRow {
  return {
    id: Number(r.id),
    experiment: String(r.experiment),
    file: str(r.file),
    started: String(r.started),
    finished: str(r.finished),
    ktVersion: str(r.kt_version),
    ktCommit: str(r.kt_commit),
    status: String(r.status ?? "running") as RunStatus,
    holder: r.pid === null || r.pid === undefined ? null : {
      pid: Number(r.pid),
      host: String(r.host ?? ""),
    },
    heartbeat: str(r.heartbeat ?? null),
  };
}

/** SQLite stores NaN as NULL; keep that explicit. */
function real(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

function num(value: SQLOutputValue): number {
  return value === null ? NaN : Number(value);
}

function str(value: SQLOutputValue): string | null {
  return value === null ? null : String(value);
}

/**
 * A line saying a run in `state` ({@linkcode runState}) is incomplete — stopped without
 * finishing (`stale`: its sweep was killed), interrupted, still running, or with failed/diverged
 * trials — and which trials are missing from its table; `undefined` when every trial finished.
 *
 * @example
 * ```ts
 * import { runNote } from "./results.ts";
 * const run = { id: 2, holder: null };
 * runNote(run, "interrupted", [{ label: "a", status: "done" }, { label: "b", status: "interrupted" }]);
 * // "run 2 is incomplete: it was interrupted (Ctrl-C); 1 of 2 trials missing: b (interrupted) — rerun the sweep to finish it (cached work is reused)"
 * ```
 */
export function runNote(
  run: Pick<RunRow, "id" | "holder">,
  state: RunState,
  trials: readonly Pick<TrialRow, "label" | "status">[],
): string | undefined {
  const missing = trials.filter((t) => !isFinished(t.status));
  if (missing.length === 0 && state !== "running" && state !== "stale") return undefined;
  const shown = missing.slice(0, 10).map((t) =>
    `${t.label} (${
      state === "stale" && (t.status === "running" || t.status === "queued")
        ? "never finished"
        : t.status
    })`
  );
  const more = missing.length > shown.length ? `, … and ${missing.length - shown.length} more` : "";
  const list = `${missing.length} of ${trials.length} trials missing: ${shown.join(", ")}${more}`;
  const who = run.holder ? ` (pid ${run.holder.pid} on ${run.holder.host || "?"})` : "";
  const resume = " — rerun the sweep to finish it (cached work is reused)";
  switch (state) {
    case "stale":
      return `run ${run.id} is incomplete: its sweep${who} stopped without finishing (killed?); ` +
        `${list}${resume}`;
    case "interrupted":
      return `run ${run.id} is incomplete: it was interrupted (Ctrl-C); ${list}${resume}`;
    case "running":
      return `run ${run.id} is still running${who}: ${list.replace("missing", "not finished yet")}`;
    default:
      return `run ${run.id} finished with ${missing.length} of ${trials.length} trials failed: ` +
        shown.join(", ") + more;
  }
}
