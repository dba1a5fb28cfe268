/**
 * `kt doctor`: which backends work here, and the fix for those that do not.
 * @module
 */
import type { Command } from "commander";

/** Adds `kt doctor` to `program`. */
export function doctorCommand(program: Command): void {
  program.command("doctor")
    .description("which backends work here, why not, and the exact fix (GPU drivers, CUDA, WebGPU)")
    .option("--json", "print the report as one JSON object")
    .action(async (o) => {
      const { diagnose, formatDoctor } = await import("../doctor.ts");
      const report = await diagnose();
      console.log(o.json ? JSON.stringify(report) : formatDoctor(report));
    });
}
