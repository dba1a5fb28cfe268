/**
 * The retrieval gallery on a real (tiny) sweep: each method's top-10 for the first query of each
 * class, equal to a brute-force ranking of the cached student's features, hits where labels
 * match; drawn by the report with every image embedded once; a run the experiment file no longer
 * describes is refused rather than shown wrongly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../src/config/mod.ts";
import { buildGallery, galleryQueries, topK } from "../src/gallery.ts";
import { galleryMethods, loadReportInput, renderReport } from "../src/report.ts";
import { materialize, planTrial } from "../src/engine/execute.ts";
import { provenanceContext } from "../src/provenance.ts";
import { openCache } from "../src/cache.ts";
import { featureSourceInput } from "../src/steps.ts";
import { KtError } from "../src/errors.ts";
import type { Dataset } from "../src/data.ts";
import { registry, sweepInline } from "./fixtures/inline_sweep.ts";

const yaml = (hidden: number) =>
  `name: gallery
backend: wasm
nodes:
  train: { use: mnist, split: train, limit: 150 }
  test: { use: mnist, split: test, limit: 40 }
  student: { use: transfer, data: train, model: { use: mlp, hidden: [${hidden}] }, epochs: 1, batchSize: 50 }
  eval: { use: evaluate, model: student, queries: test, database: train }
sweep:
  grid: { student.epochs: [1, 2] }
  seeds: [0, 1]
`;

Deno.test("the gallery shows each method's top-10 by cosine, hits marked, from the cached students", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, yaml(12));
    const loaded = await loadExperiment(file, registry);
    assert.equal((await sweepInline(loaded, dir)).failed, 0);
    const cacheDir = join(dir, "cache");
    const input = loadReportInput(join(dir, "run"));
    const methods = galleryMethods(input);
    assert.deepEqual(methods.map((m) => [m.method, m.trial]), [
      ["student.epochs=1", "student.epochs=1 seed=0"],
      ["student.epochs=2", "student.epochs=2 seed=0"],
    ]);
    const gallery = (await buildGallery(loaded, { cacheDir, methods }))!;
    assert.equal(gallery.node, "eval");
    assert.deepEqual(gallery.skipped, []);

    // Brute force for the second method: its student's features, ranked by cosine.
    const trial = loaded.trials.find((t) => t.label === "student.epochs=2 seed=0")!;
    const plans = planTrial(trial, await provenanceContext(loaded.experiment, [trial], cacheDir));
    const rt = {
      cache: await openCache(cacheDir),
      registry: loaded.experiment.registry,
      cacheDir: join(cacheDir, "datasets"),
      log: () => {},
    };
    const test = await materialize(trial, plans, "test", rt) as Dataset;
    const train = await materialize(trial, plans, "train", rt) as Dataset;
    const source = featureSourceInput(
      { model: await materialize(trial, plans, "student", rt) },
      "model",
    );
    const q = (await source.extract(test, "representation", false)).features;
    const db = (await source.extract(train, "representation", false)).features;
    const chosen = galleryQueries(test.y, 8);
    assert.deepEqual(gallery.queries.map((x) => x.index), chosen);
    assert.deepEqual(gallery.queries.map((x) => x.label), [0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [i, index] of chosen.entries()) {
      const row = gallery.rows[i][1];
      assert.equal(row.method, "student.epochs=2");
      const expected = topK(q.values.subarray(index * q.dim, (index + 1) * q.dim), db, 10);
      assert.deepEqual(row.images.map((id) => Number(id.split("-")[1])), expected);
      assert.deepEqual(row.labels, expected.map((j) => train.y[j]));
      assert.deepEqual(row.hits, expected.map((j) => train.y[j] === test.y[index]));
    }

    // The report: a block per query, a row of 10 per method, each image embedded once.
    const html = renderReport({ ...input, gallery });
    assert.equal(html.match(/class="gallery-query"/g)!.length, 8);
    const rows = [...html.matchAll(/<td class="left thumbs">(.*?)<\/td>/g)].map((m) => m[1]);
    assert.equal(rows.length, 16);
    for (const r of rows) assert.equal(r.match(/class="thumb (hit|miss) g\d+"/g)!.length, 10);
    const embedded = html.match(/\.g\d+\{background-image:url\(data:image\/png;base64,/g)!.length;
    assert.equal(embedded, Object.keys(gallery.images).length);
    assert.match(html, /aria-label="rank 1: \d — (hit|miss)"/);

    // The file edited since the run: the trials' configs differ, nothing is shown wrongly.
    await Deno.writeTextFile(file, yaml(13));
    const edited = await loadExperiment(file, registry);
    await assert.rejects(
      () => buildGallery(edited, { cacheDir, methods }),
      (e) => e instanceof KtError && /another config than the run's/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
