/**
 * Private to the tests: a finished trial as `results.sqlite` hands it back, for the tests of code
 * that reads trials (experiments/methods_table.ts, experiments/reference/compare.ts).
 * @module
 */
import type { ReferenceRow, TrialRow } from "../src/results.ts";

let id = 0;

/** A `done` trial of `method` at `seed` (run 1, a fresh id) with these metrics and references. */
export function doneTrial(
  method: unknown,
  seed: number,
  metrics: Record<string, number>,
  references: ReferenceRow[],
): TrialRow {
  id++;
  return {
    id,
    runId: 1,
    label: `method=${JSON.stringify(method)},seed=${seed}`,
    params: { method: method as string, seed },
    seed,
    status: "done",
    reason: null,
    started: null,
    finished: null,
    config: null,
    metrics,
    references,
  };
}
