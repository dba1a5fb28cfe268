/**
 * Bench worker: trains one model case on its own backend instance and posts its samples/s
 * (`{ backend, key, batch, steps }` in, `{ samplesPerSecond }` or `{ error }` out).
 * @module
 */
import { useBackend } from "../src/backend/select.ts";
import { cases, trainingThroughput } from "./training_cases.ts";

interface Job {
  backend: string;
  key: string;
  batch: number;
  steps: number;
}

const scope = self as unknown as {
  onmessage: (e: MessageEvent<Job>) => void;
  postMessage(m: unknown): void;
};
scope.onmessage = async (e) => {
  try {
    await useBackend(e.data.backend);
    const c = cases.find((k) => k.key === e.data.key);
    if (!c) throw new Error(`no bench case ${e.data.key}`);
    scope.postMessage({
      samplesPerSecond: await trainingThroughput(c, e.data.batch, e.data.steps),
    });
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
