/**
 * Option schemas the built-in loss plugins share beyond the public `weightOption`: the seed of
 * random matrices and PKT's kernel/divergence options.
 * @module
 */
import { PKT_DIVERGENCES, PKT_KERNELS, z } from "../../mod.ts";

/** `seed` of the terms that draw a random matrix (default: the node's seed). */
export const seedOption = {
  seed: z.number().int().optional().describe("seed of the random matrix (default: the node's)"),
};

/** The PKT kernel/divergence options, shared by `pkt`, `spkt` and `multi-pkt`. */
export const pktOptions = {
  kernel: z.enum(PKT_KERNELS).default("cosine").describe("similarity kernel (official: cosine)"),
  divergence: z.enum(PKT_DIVERGENCES).default("kl").describe("divergence (official: kl)"),
  eps: z.number().positive().default(1e-7).describe("guard inside logs and divisions"),
  sigma: z.number().positive().default(1).describe("bandwidth of rbf and cauchy"),
  delta: z.number().positive().default(1).describe("exponent of student-t"),
};
