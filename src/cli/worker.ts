/**
 * `kt worker` (hidden): computes one job read as JSON from stdin, for the local executor.
 * @module
 */
import type { Command } from "commander";
import type { JobSpec } from "../api.ts";
import type { Registry } from "../registry.ts";
import { runJob } from "../engine/execute.ts";
import { eventLine } from "../engine/worker_protocol.ts";
import { ExitCode } from "./shared.ts";

/** Adds `kt worker` to `program`. */
export function workerCommand(program: Command, registry: Registry): void {
  program.command("worker", { hidden: true })
    .description(
      "internal: compute one job read as JSON from stdin (started by the local executor)",
    )
    .action(async () => {
      // Ctrl-C on the terminal reaches the whole process group: the sweep decides (it asks, or
      // stops its workers with SIGTERM), so a worker ignores it.
      Deno.addSignalListener("SIGINT", () => {});
      const job = JSON.parse(await new Response(Deno.stdin.readable).text()) as JobSpec;
      const emit = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));
      // The job carries its node and inputs: the experiment file is neither read nor expanded.
      const result = await runJob(
        job,
        registry,
        {
          curve: (p) => emit(eventLine({ type: "curve", ...p })),
          log: (line) => emit(eventLine({ type: "log", line })),
        },
        {},
        { importPlugins: true },
      );
      emit(eventLine(
        result.ok ? { type: "done" } : {
          type: "error",
          reason: result.reason,
          ...(result.ending ? { ending: result.ending } : {}),
        },
      ));
      if (!result.ok) throw new ExitCode(1);
    });
}
