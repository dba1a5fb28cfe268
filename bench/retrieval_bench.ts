/**
 * Retrieval evaluation speed: `nq` queries against `nd` database items of `dim` features drawn
 * around 10 random class centres (cosine, exact AP, the default P@k cut-offs).
 *
 * Run: `deno run -A bench/retrieval_bench.ts` (wasm backend, 10,000 queries × 64-d, databases of
 * 1k, 10k and 60k items).
 * @module
 */
import { useBackend } from "../src/backend/select.ts";
import { createRng } from "../src/rng.ts";
import { retrievalMetrics } from "../src/metrics/retrieval.ts";

function clustered(n: number, dim: number, centres: Float32Array[], seed: number) {
  const rng = createRng(seed);
  const labels = new Int32Array(n);
  const values = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = rng.int(centres.length);
    labels[i] = c;
    for (let k = 0; k < dim; k++) values[i * dim + k] = centres[c][k] + 2 * rng.normal();
  }
  return { labels, values };
}

/**
 * Seconds {@linkcode retrievalMetrics} takes for `nq` queries against `nd` items of `dim`
 * features on the active tfjs backend (data generation not timed).
 *
 * @example
 * ```ts ignore
 * import { benchRetrieval } from "./retrieval_bench.ts";
 * console.log(await benchRetrieval(1000, 1000, 64));
 * ```
 */
export async function benchRetrieval(nq: number, nd: number, dim: number): Promise<number> {
  const rng = createRng(1);
  const centres = Array.from(
    { length: 10 },
    () => Float32Array.from({ length: dim }, () => rng.normal()),
  );
  const q = clustered(nq, dim, centres, 2);
  const d = clustered(nd, dim, centres, 3);
  const t0 = performance.now();
  await retrievalMetrics(
    { values: q.values, dim, size: nq },
    q.labels,
    { values: d.values, dim, size: nd },
    d.labels,
  );
  return (performance.now() - t0) / 1000;
}

if (import.meta.main) {
  const backend = await useBackend(Deno.args[0] ?? "wasm");
  const nq = 10_000, dim = 64;
  console.log(`retrieval: ${nq} queries × ${dim}-d, cosine, backend ${backend.name}`);
  for (const nd of [1_000, 10_000, 60_000]) {
    const seconds = await benchRetrieval(nq, nd, dim);
    console.log(`  database ${String(nd).padStart(6)}: ${seconds.toFixed(2)} s`);
  }
}
