/**
 * `inline` executor: runs jobs one after another inside the sweep process. No isolation (a crash
 * stops the sweep) but no process start-up either; handy for debugging and tiny sweeps.
 * @module
 */
import { defineExecutor, z } from "../../mod.ts";

export default defineExecutor({
  name: "inline",
  description: "run jobs one at a time inside the sweep process (debugging, tiny sweeps)",
  version: "1",
  options: z.object({}).strict(),
  create(_opts, env) {
    return { concurrency: 1, run: (job, events) => env.runInProcess(job, events) };
  },
});
