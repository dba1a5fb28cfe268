/**
 * Private: a worker that ranks blocks of query scores for {@linkcode retrievalMetrics} while the
 * main thread computes the next similarities. Messages: one `init`, then `block`s; each block is
 * answered with its {@linkcode BlockResult} (buffers transferred).
 * @module
 */
/// <reference lib="deno.worker" />
import { BlockRanker, type RankRequest } from "./_ranking.ts";

let ranker: BlockRanker | undefined;

self.onmessage = (event: MessageEvent<RankRequest>) => {
  const m = event.data;
  if (m.type === "init") {
    ranker = new BlockRanker(m.databaseLabels, m.ks, m.interpolation);
    return;
  }
  const { ap, precision } = ranker!.rankBlock(m.scores, m.labels);
  self.postMessage({ id: m.id, ap, precision }, [
    ap.buffer as ArrayBuffer,
    precision.buffer as ArrayBuffer,
  ]);
};
