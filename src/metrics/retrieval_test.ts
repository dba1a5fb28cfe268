import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../backend/select.ts";
import { createRng, type Rng } from "../rng.ts";
import { KtError } from "../errors.ts";
import { retrievalMetrics, type RetrievalOptions, type ScoreEngine } from "./retrieval.ts";

// ------------------------------------------------------------------ a plain reference

/** Similarity in float64 the textbook way: cosine (0 for a zero vector) or −squared distance. */
function naiveScore(a: Float32Array, b: Float32Array, similarity: string): number {
  if (similarity === "euclidean") {
    let s = 0;
    for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
    return -s;
  }
  let dot = 0, na = 0, nb = 0;
  for (let k = 0; k < a.length; k++) {
    dot += a[k] * b[k];
    na += a[k] ** 2;
    nb += b[k] ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Full sort per query (score desc, then lower index), AP and P@k straight from the definitions. */
function naiveRetrieval(
  q: Float32Array,
  ql: Int32Array,
  d: Float32Array,
  dl: Int32Array,
  dim: number,
  similarity: string,
  ks: number[],
  interpolation: string,
) {
  const nq = ql.length, nd = dl.length;
  const aps: number[] = [];
  const pSums = ks.map(() => 0);
  let evaluated = 0;
  for (let i = 0; i < nq; i++) {
    const qi = q.subarray(i * dim, (i + 1) * dim);
    const scores = Array.from(
      { length: nd },
      (_, j) => naiveScore(qi, d.subarray(j * dim, (j + 1) * dim), similarity),
    );
    const order = Array.from({ length: nd }, (_, j) => j).sort((a, b) =>
      scores[b] - scores[a] || a - b
    );
    const rel = order.map((j) => dl[j] === ql[i]);
    const total = rel.filter(Boolean).length;
    if (total === 0) {
      aps.push(0);
      continue;
    }
    evaluated++;
    const precision: number[] = [];
    const recall: number[] = [];
    let hits = 0;
    let apSum = 0;
    rel.forEach((r, pos) => {
      if (r) {
        hits++;
        apSum += hits / (pos + 1);
      }
      precision.push(hits / (pos + 1));
      recall.push(hits / total);
    });
    let ap = apSum / total;
    if (interpolation === "11-point") {
      ap = 0;
      for (let level = 0; level <= 10; level++) {
        let m = 0;
        for (let p = 0; p < nd; p++) {
          if (recall[p] >= level / 10 - 1e-12) m = Math.max(m, precision[p]);
        }
        ap += m / 11;
      }
    }
    aps.push(ap);
    ks.forEach((k, t) => pSums[t] += rel.slice(0, k).filter(Boolean).length / k);
  }
  const mAP = evaluated ? aps.reduce((a, b) => a + b, 0) / evaluated : 0;
  return { mAP, precision: pSums.map((s) => (evaluated ? s / evaluated : 0)), aps };
}

// ------------------------------------------------------------------ data with many ties

function labels(n: number, classes: number, rng: Rng): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

/** Small integers: many exactly equal distances (integer arithmetic is exact in float32). */
function integerRows(n: number, dim: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n * dim }, () => rng.int(5) - 2);
}

/** Rows copied from a few random prototypes (one of them zero): many exactly equal cosines. */
function prototypeRows(n: number, dim: number, protos: Float32Array[], rng: Rng): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) out.set(protos[rng.int(protos.length)], i * dim);
  return out;
}

const ENGINES: { engine: ScoreEngine; backend: string }[] = [
  { engine: "js", backend: "cpu" },
  { engine: "tfjs", backend: "cpu" },
  { engine: "tfjs", backend: "wasm" },
];

Deno.test("retrievalMetrics() matches a full-sort reference on data with many ties", async () => {
  const rng = createRng(7);
  const dim = 3, nq = 25, nd = 320, classes = 4;
  const protos = [new Float32Array(dim)];
  for (let p = 0; p < 5; p++) protos.push(Float32Array.from({ length: dim }, () => rng.normal()));
  const ql = labels(nq, classes + 1, rng); // label 4 never occurs in the database
  const dl = labels(nd, classes, rng);
  const data = {
    euclidean: { q: integerRows(nq, dim, rng), d: integerRows(nd, dim, rng) },
    cosine: { q: prototypeRows(nq, dim, protos, rng), d: prototypeRows(nd, dim, protos, rng) },
  };
  const ks = [1, 5, 10, 200];
  for (const { engine, backend } of ENGINES) {
    await useBackend(backend);
    for (const similarity of ["cosine", "euclidean"] as const) {
      for (const interpolation of ["exact", "11-point"] as const) {
        const { q, d } = data[similarity];
        const want = naiveRetrieval(q, ql, d, dl, dim, similarity, ks, interpolation);
        const options: RetrievalOptions = {
          similarity,
          interpolation,
          k: ks,
          perQuery: true,
          engine,
          blockSize: 7,
        };
        const got = await retrievalMetrics(
          { values: q, dim, size: nq },
          ql,
          { values: d, dim, size: nd },
          dl,
          options,
        );
        const where = `${engine}/${backend} ${similarity} ${interpolation}`;
        assert.ok(Math.abs(got.mAP - want.mAP) < 1e-6, `${where}: mAP ${got.mAP} vs ${want.mAP}`);
        ks.forEach((k, t) =>
          assert.ok(Math.abs(got.precisionAt[k] - want.precision[t]) < 1e-9, `${where}: P@${k}`)
        );
        want.aps.forEach((ap, i) =>
          assert.ok(Math.abs(got.perQueryAP![i] - ap) < 1e-6, `${where}: AP of query ${i}`)
        );
      }
    }
  }
});

Deno.test("retrievalMetrics() on random clustered data matches the reference", async () => {
  await useBackend("cpu");
  const rng = createRng(3);
  const dim = 8, nq = 20, nd = 400, classes = 5;
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, rng.normal));
  const make = (n: number) => {
    const y = labels(n, classes, rng);
    const x = Float32Array.from(
      { length: n * dim },
      (_, i) => centres[y[Math.floor(i / dim)]][i % dim] + 1.5 * rng.normal(),
    );
    return { x, y };
  };
  const q = make(nq), d = make(nd);
  for (const similarity of ["cosine", "euclidean"] as const) {
    const want = naiveRetrieval(q.x, q.y, d.x, d.y, dim, similarity, [10, 50], "exact");
    const got = await retrievalMetrics(
      { values: q.x, dim, size: nq },
      q.y,
      { values: d.x, dim, size: nd },
      d.y,
      {
        similarity,
        k: [10, 50],
      },
    );
    assert.ok(Math.abs(got.mAP - want.mAP) < 1e-6, `${similarity}: ${got.mAP} vs ${want.mAP}`);
    assert.ok(Math.abs(got.precisionAt[50] - want.precision[1]) < 1e-9);
  }
});

Deno.test("retrievalMetrics() gives the hand-computed AP of one query over five items", async () => {
  // Cosines with q = (1,0): d0 1, d1 0, d2 0.707, d3 −1, d4 0.995 → order d0 d4 d2 d1 d3.
  // Relevant (label 0): d0, d2, d3 at ranks 1, 3, 5.
  const q = { values: new Float32Array([1, 0]), dim: 2, size: 1 };
  const d = { values: new Float32Array([1, 0, 0, 1, 1, 1, -1, 0, 1, 0.1]), dim: 2, size: 5 };
  const ql = new Int32Array([0]);
  const dl = new Int32Array([0, 1, 0, 0, 1]);
  const exact = await retrievalMetrics(q, ql, d, dl, { k: [1, 2, 5], engine: "js" });
  assert.ok(Math.abs(exact.mAP - (1 / 1 + 2 / 3 + 3 / 5) / 3) < 1e-7);
  assert.deepEqual(exact.precisionAt, { 1: 1, 2: 0.5, 5: 0.6 });
  // 11-point: recall ≥ 0..0.3 → best precision 1; 0.4..0.6 → 2/3; 0.7..1 → 3/5.
  const eleven = await retrievalMetrics(q, ql, d, dl, { interpolation: "11-point", engine: "js" });
  assert.ok(Math.abs(eleven.mAP - (4 * 1 + 3 * (2 / 3) + 4 * (3 / 5)) / 11) < 1e-7);
});

Deno.test("retrievalMetrics() ranks tied items by lower database index", async () => {
  const q = { values: new Float32Array([1, 0]), dim: 2, size: 1 };
  const d = { values: new Float32Array([1, 0, 2, 0]), dim: 2, size: 2 }; // both cosine 1
  const first = await retrievalMetrics(q, new Int32Array([0]), d, new Int32Array([0, 1]));
  const second = await retrievalMetrics(q, new Int32Array([0]), d, new Int32Array([1, 0]));
  assert.equal(first.mAP, 1);
  assert.equal(second.mAP, 0.5);
});

Deno.test("retrievalMetrics() handles zero vectors under cosine without NaN", async () => {
  // A zero query scores 0 against everything: all tie, so the order is the index order.
  const q = { values: new Float32Array([0, 0]), dim: 2, size: 1 };
  const d = { values: new Float32Array([0, 0, 1, 1, 0, 0]), dim: 2, size: 3 };
  const r = await retrievalMetrics(q, new Int32Array([1]), d, new Int32Array([1, 0, 1]), {
    k: [1],
    perQuery: true,
  });
  assert.ok(Math.abs(r.mAP - (1 + 2 / 3) / 2) < 1e-7);
  assert.equal(r.precisionAt[1], 1);
  assert.ok(!Number.isNaN(r.perQueryAP![0]));
});

Deno.test("retrievalMetrics() leaves queries without relevant items out of the means", async () => {
  const q = { values: new Float32Array([1, 0, 1, 0]), dim: 2, size: 2 };
  const d = { values: new Float32Array([1, 0, 0, 1]), dim: 2, size: 2 };
  const r = await retrievalMetrics(q, new Int32Array([0, 9]), d, new Int32Array([0, 1]), {
    k: [1],
    perQuery: true,
  });
  assert.equal(r.mAP, 1);
  assert.equal(r.precisionAt[1], 1);
  assert.deepEqual([...r.perQueryAP!], [1, 0]);
});

Deno.test("retrievalMetrics() accepts tensors and frees what it creates", async () => {
  await useBackend("wasm");
  const q = tf.tensor2d([[1, 0], [0, 1]]);
  const d = tf.tensor2d([[1, 0.1], [0.1, 1], [1, 0]]);
  const before = tf.memory().numTensors;
  const r = await retrievalMetrics(q, new Int32Array([0, 1]), d, new Int32Array([0, 1, 0]), {
    k: [1],
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(r.mAP, 1);
  tf.dispose([q, d]);
});

Deno.test("retrievalMetrics() rejects mismatched inputs with a KtError", async () => {
  const q = { values: new Float32Array([1, 0]), dim: 2, size: 1 };
  const d = { values: new Float32Array([1, 0, 0]), dim: 3, size: 1 };
  await assert.rejects(
    () => retrievalMetrics(q, new Int32Array([0]), d, new Int32Array([0])),
    KtError,
  );
  await assert.rejects(
    () => retrievalMetrics(q, new Int32Array([0, 1]), q, new Int32Array([0])),
    KtError,
  );
  const wrongSize = { values: new Float32Array([1, 0, 0, 1]), dim: 2, size: 1 };
  await assert.rejects(
    () => retrievalMetrics(wrongSize, new Int32Array([0]), q, new Int32Array([0])),
    /queries: 4 values are not 1 rows of 2/,
  );
  const nan = { values: new Float32Array([NaN, 0]), dim: 2, size: 1 };
  await assert.rejects(
    () => retrievalMetrics(nan, new Int32Array([0]), q, new Int32Array([0])),
    KtError,
  );
  await assert.rejects(
    () => retrievalMetrics(q, new Int32Array([0]), q, new Int32Array([0]), { k: [0] }),
    KtError,
  );
});

Deno.test("retrievalMetrics() gives identical results when a worker ranks some blocks", async () => {
  await useBackend("cpu");
  const rng = createRng(9);
  const dim = 4, nq = 120, nd = 500;
  const q = integerRows(nq, dim, rng), d = integerRows(nd, dim, rng);
  const ql = labels(nq, 6, rng), dl = labels(nd, 5, rng);
  for (const interpolation of ["exact", "11-point"] as const) {
    const options: RetrievalOptions = {
      interpolation,
      perQuery: true,
      blockSize: 8,
      k: [1, 7, 50],
    };
    const one = await retrievalMetrics(
      { values: q, dim, size: nq },
      ql,
      { values: d, dim, size: nd },
      dl,
      {
        ...options,
        threads: 1,
      },
    );
    const two = await retrievalMetrics(
      { values: q, dim, size: nq },
      ql,
      { values: d, dim, size: nd },
      dl,
      {
        ...options,
        threads: 3,
      },
    );
    assert.deepEqual(two, one);
  }
});

Deno.test("retrievalMetrics() ranks a whole database of ties by index", async () => {
  // A zero query has cosine 0 (some +0, some −0) with every item: the order is the index order.
  // Labels alternate 1, 0, 1, 0, …: the relevant items (label 0) sit at ranks 2, 4, …, 400.
  const nd = 400, dim = 3;
  const rng = createRng(2);
  const d = Float32Array.from({ length: nd * dim }, () => rng.normal());
  const dl = Int32Array.from({ length: nd }, (_, j) => (j + 1) % 2);
  const r = await retrievalMetrics(
    { values: new Float32Array(dim), dim, size: 1 },
    new Int32Array([0]),
    { values: d, dim, size: nd },
    dl,
    { k: [1, 2, 5] },
  );
  let ap = 0;
  for (let i = 1; i <= nd / 2; i++) ap += i / (2 * i);
  assert.ok(Math.abs(r.mAP - ap / (nd / 2)) < 1e-7, `${r.mAP}`);
  assert.deepEqual(r.precisionAt, { 1: 0, 2: 0.5, 5: 0.4 });
});
