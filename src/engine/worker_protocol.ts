/**
 * The line protocol between the engine and a worker process: the worker prints JSON events on
 * stdout, each line prefixed with `@kt `; anything else on stdout is passed on as a log line.
 * @module
 */
import type { CurvePoint, JobEvents, JobResult } from "../api.ts";

/** Prefix of protocol lines. */
export const PREFIX = "@kt ";

/** An event a worker emits. */
export type WorkerEvent =
  | ({ type: "curve" } & CurvePoint)
  | { type: "log"; line: string }
  | { type: "done" }
  | { type: "error"; reason: string; ending?: "diverged" | "interrupted" };

/** Formats an event as one protocol line. */
export function eventLine(event: WorkerEvent): string {
  return PREFIX + JSON.stringify(event) + "\n";
}

/** Reads a worker's stdout, forwarding events; resolves with its outcome (undefined: none said). */
export async function readWorkerStream(
  stream: ReadableStream<Uint8Array>,
  events: JobEvents,
): Promise<JobResult | undefined> {
  let outcome: JobResult | undefined;
  let buffer = "";
  const handle = (line: string) => {
    if (!line.startsWith(PREFIX)) {
      if (line.trim()) events.log(line);
      return;
    }
    const e = JSON.parse(line.slice(PREFIX.length)) as WorkerEvent;
    if (e.type === "curve") events.curve(e);
    else if (e.type === "log") events.log(e.line);
    else if (e.type === "done") outcome = { ok: true };
    else outcome = { ok: false, reason: e.reason, ...(e.ending ? { ending: e.ending } : {}) };
  };
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      handle(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer) handle(buffer);
  return outcome;
}
