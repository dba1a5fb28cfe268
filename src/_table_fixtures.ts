/**
 * Private: the trials the table tests share — three methods with hand-worked means and stds, a
 * failed and a queued seed.
 * @module
 */
import type { TrialResult } from "./table.ts";

// pkt: mAP 0.50, 0.52, 0.54 → mean 0.52, std √((0.02² + 0 + 0.02²)/2) = 0.02
//      loss 0.3, 0.5, 0.4   → mean 0.4,  std √((0.01 + 0.01 + 0)/2)   = 0.1
// hinton: mAP 0.49, 0.51   → mean 0.50, std √((0.01² + 0.01²)/1)      = 0.0141421356
//         loss 0.2, 0.2    → mean 0.2,  std 0; plus one failed seed
// none: mAP 0.40 (one seed) → std undefined; no loss
/** See the comment above for the worked values. */
export const trials: TrialResult[] = [
  { params: { method: "pkt", seed: 0 }, status: "done", metrics: { loss: 0.3, mAP: 0.5 } },
  { params: { method: "hinton", seed: 0 }, status: "done", metrics: { mAP: 0.49, loss: 0.2 } },
  { params: { method: "pkt", seed: 1 }, status: "cached", metrics: { mAP: 0.52, loss: 0.5 } },
  { params: { method: "none", seed: 0 }, status: "done", metrics: { mAP: 0.4 } },
  { params: { method: "pkt", seed: 2 }, status: "done", metrics: { mAP: 0.54, loss: 0.4 } },
  { params: { method: "hinton", seed: 1 }, status: "done", metrics: { mAP: 0.51, loss: 0.2 } },
  { params: { method: "hinton", seed: 2 }, status: "failed", metrics: {} },
  { params: { method: "none", seed: 1 }, status: "queued", metrics: {} },
];
