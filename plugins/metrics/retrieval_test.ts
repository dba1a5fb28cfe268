import assert from "node:assert/strict";
import type { MetricInputs } from "../../src/api.ts";
import accuracy from "./accuracy.ts";
import knn from "./knn.ts";
import qmi from "./qmi.ts";
import retrieval from "./retrieval.ts";

// Queries (1,0) label 0 and (0,1) label 1; database: (1,0.1) 0, (0.1,1) 1, (1,0) 0, (-1,0) 1.
const inputs: MetricInputs = {
  queries: {
    features: { values: new Float32Array([1, 0, 0, 1]), dim: 2, size: 2 },
    labels: new Int32Array([0, 1]),
  },
  database: {
    features: { values: new Float32Array([1, 0.1, 0.1, 1, 1, 0, -1, 0]), dim: 2, size: 4 },
    labels: new Int32Array([0, 1, 0, 1]),
  },
  queryLogits: { values: new Float32Array([2, 1, 3, 0]), dim: 2, size: 2 },
};

Deno.test("retrieval metric names mAP and P@k", async () => {
  const out = await retrieval.compute(retrieval.options.parse({ k: [1, 2] }), inputs);
  assert.deepEqual(Object.keys(out).sort(), ["P@1", "P@2", "mAP"]);
  // Query 0: relevant items 2 (cos 1) and 0 (cos .995) rank 1, 2 → AP 1.
  // Query 1: item 1 (cos .995) rank 1; item 3 (cos 0) ties with item 2 (cos 0) and comes
  // after it (higher index): rank 4 → AP (1 + 2/4)/2 = 0.75.
  assert.ok(Math.abs(out.mAP - (1 + 0.75) / 2) < 1e-7);
  assert.equal(out["P@1"], 1);
  assert.equal(out["P@2"], (1 + 0.5) / 2);
});

Deno.test("retrieval metric defaults to the paper's cut-offs", async () => {
  const out = await retrieval.compute(retrieval.options.parse({}), inputs);
  assert.deepEqual(
    Object.keys(out).filter((k) => k.startsWith("P@")),
    ["P@10", "P@20", "P@50", "P@100", "P@200"],
  );
});

Deno.test("qmi, knn and accuracy metrics report under their names", async () => {
  assert.ok((await qmi.compute(qmi.options.parse({}), inputs)).qmi > 0);
  assert.deepEqual(await knn.compute(knn.options.parse({}), inputs), { knn: 1 });
  assert.deepEqual(await accuracy.compute(accuracy.options.parse({}), inputs), { accuracy: 0.5 });
  await assert.rejects(() =>
    accuracy.compute(accuracy.options.parse({}), { ...inputs, queryLogits: undefined })
  );
});
