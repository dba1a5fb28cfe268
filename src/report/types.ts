/**
 * The data a report is drawn from: the run, its trials and the comparison table.
 * @module
 */
import type { JsonValue } from "../canonical.ts";
import type { EpochPoint } from "../results.ts";
import type { ComparisonTable, TrialResult } from "../table.ts";
import type { Gallery } from "../gallery.ts";

/** The run a report describes (a results-database `RunRow` fits). */
export interface ReportRun {
  experiment: string;
  id?: number;
  /** The experiment YAML file. */
  file?: string | null;
  /** ISO-8601 start time. */
  started: string;
  finished?: string | null;
  ktVersion?: string | null;
  ktCommit?: string | null;
}

/** One trial of the report: its table data plus what the report shows beside it. */
export interface ReportTrial extends TrialResult {
  label: string;
  seed: number;
  /** Why it failed. */
  reason?: string | null;
  /** The fully resolved experiment config of the trial. */
  config?: JsonValue | null;
  /** Per-epoch training loss of each training node. */
  curves?: readonly EpochPoint[];
  /** Set when the curves were recorded by an earlier run (the trial came from the cache). */
  curvesFromRun?: number;
  /** ISO-8601 times the trial started and finished (its run time in the report). */
  started?: string | null;
  finished?: string | null;
}

/** Everything {@linkcode renderReport} draws. */
export interface ReportInput {
  run: ReportRun;
  trials: readonly ReportTrial[];
  /** The comparison table; computed from `trials` with the default options when omitted. */
  table?: ComparisonTable;
  /** kt version shown when `run.ktVersion` is not recorded. */
  ktVersion?: string;
  /** When the report was generated (omitted: not shown, so the output is deterministic). */
  generated?: Date;
  /** The retrieval gallery (`kt report --gallery`, see `gallery.ts`). */
  gallery?: Gallery;
}
