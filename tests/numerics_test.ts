/**
 * Golden numbers of kt's own training numerics: a tiny fixed run of the built-in steps (a CNN
 * teacher with batch norm and Adam, a PKT student with SGD, momentum, weight decay and a step
 * schedule, an evaluation) on the cpu backend, compared bit for bit with
 * `tests/fixtures/numerics.json`. Every cache key holds `KT_NUMERICS_VERSION`; when this test
 * fails, the numbers changed and old artifacts must not be reused: bump the version and
 * re-record the fixture (`KT_UPDATE_NUMERICS=1 deno test -A tests/numerics_test.ts`).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { builtinPlugins } from "../plugins/mod.ts";
import type { Dataset, StepContext, TrainedModel } from "../src/api.ts";
import { useBackend } from "../src/backend/select.ts";
import { KT_NUMERICS_VERSION } from "../src/provenance.ts";
import { createRegistry } from "../src/registry.ts";
import { createRng } from "../src/rng.ts";

const FIXTURE = new URL("./fixtures/numerics.json", import.meta.url);
const registry = createRegistry(builtinPlugins);

interface Golden {
  numericsVersion: number;
  runs: Record<string, { losses?: number[]; weights?: string; metrics?: Record<string, number> }>;
}

/** 48 samples of 8×8×1 in 3 classes: class c brightens row block c a little, in seeded noise. */
function syntheticData(seed: number): Dataset {
  const rng = createRng(seed);
  const size = 48;
  const x = new Float32Array(size * 64);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    y[i] = i % 3;
    for (let p = 0; p < 64; p++) {
      const row = Math.floor(p / 8);
      x[i * 64 + p] = rng.next() + (Math.floor(row / 3) === y[i] ? 0.25 : 0);
    }
  }
  return { name: "synthetic", x, y, shape: [8, 8, 1], size, numClasses: 3 };
}

/** An inline plugin as YAML writes it, with the plugin's defaults applied (as validation does). */
function inline(kind: "model" | "loss", use: string, options: Record<string, unknown> = {}) {
  return { use, ...registry.get(kind, use).options.parse(options) as Record<string, unknown> };
}

function context(inputs: Record<string, unknown>, seed: number): StepContext {
  return {
    cacheDir: "/nonexistent",
    seed,
    log: () => {},
    inputs,
    plugin: (spec) => registry.get(spec.kind, spec.use) as never,
    curve: () => {},
  };
}

function weightsHash(trained: TrainedModel): string {
  const h = createHash("sha256");
  for (const w of trained.model.net.getWeights()) {
    const v = w.dataSync() as Float32Array;
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest("hex");
}

async function goldenRuns(): Promise<Golden["runs"]> {
  await useBackend("cpu");
  const data = syntheticData(1);
  const queries = syntheticData(2);
  const teacherStep = registry.get("step", "trained-network");
  const teacher = await teacherStep.run(
    teacherStep.options.parse({
      data: "data",
      model: inline("model", "cnn", { filters: [4], dense: [8], batchNorm: true }),
      epochs: 2,
      batchSize: 16,
      lr: 0.01,
    }),
    context({ data }, 0),
  ) as TrainedModel;

  const rng = createRng(7);
  const targets = {
    features: { values: Float32Array.from({ length: 48 * 4 }, () => rng.next()), size: 48, dim: 4 },
  };
  const transfer = registry.get("step", "transfer");
  const student = await transfer.run(
    transfer.options.parse({
      data: "data",
      targets: "targets",
      model: inline("model", "mlp", { hidden: [8] }),
      loss: inline("loss", "pkt"),
      epochs: 2,
      batchSize: 16,
      optimizer: "sgd",
      lr: 0.05,
      momentum: 0.9,
      weightDecay: 1e-4,
      schedule: { gamma: 0.5, stepSize: 1 },
    }),
    context({ data, targets }, 3),
  ) as TrainedModel;

  const evaluate = registry.get("step", "evaluate");
  const metrics = await evaluate.run(
    evaluate.options.parse({
      model: "teacher",
      queries: "queries",
      database: "data",
      metrics: ["retrieval", "accuracy"],
    }),
    context({ teacher, queries, database: data, model: teacher }, 0),
  ) as Record<string, number>;

  return {
    "teacher cnn+bn adam": {
      losses: teacher.history.map((h) => h.loss),
      weights: weightsHash(teacher),
    },
    "student mlp pkt sgd": {
      losses: student.history.map((h) => h.loss),
      weights: weightsHash(student),
    },
    "evaluate teacher": { metrics },
  };
}

Deno.test("kt's training numerics match the golden run of this numerics version", async () => {
  const runs = await goldenRuns();
  if (Deno.env.get("KT_UPDATE_NUMERICS") === "1") {
    const golden: Golden = { numericsVersion: KT_NUMERICS_VERSION, runs };
    await Deno.writeTextFile(FIXTURE, JSON.stringify(golden, null, 2) + "\n");
    return;
  }
  const golden = JSON.parse(await Deno.readTextFile(FIXTURE)) as Golden;
  const rerecord =
    "re-record the fixture: KT_UPDATE_NUMERICS=1 deno test -A tests/numerics_test.ts";
  const changed = Object.keys(golden.runs).filter((name) =>
    JSON.stringify(runs[name]) !== JSON.stringify(golden.runs[name])
  );
  if (golden.numericsVersion === KT_NUMERICS_VERSION) {
    assert.deepEqual(
      changed,
      [],
      `kt's training numerics changed (${changed.join(", ")}) but KT_NUMERICS_VERSION is still ` +
        `${KT_NUMERICS_VERSION}: bump it in src/provenance.ts so cached artifacts computed the ` +
        `old way are not reused, then ${rerecord}\n` +
        changed.map((n) =>
          `${n}: now ${JSON.stringify(runs[n])}, golden ${JSON.stringify(golden.runs[n])}`
        ).join("\n"),
    );
  } else {
    assert.fail(
      `tests/fixtures/numerics.json holds numerics version ${golden.numericsVersion}, kt is at ` +
        `${KT_NUMERICS_VERSION}: ${rerecord}`,
    );
  }
});
