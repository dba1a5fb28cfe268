/**
 * The convolution geometry kt's generated conv kernels are specialised to, taken from tfjs's
 * `Conv2DInfo`, and a tiling helper they share.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** Input/output sizes, filter size, padding before, strides and dilations (NHWC). */
export interface ConvGeometry {
  h: number;
  w: number;
  ci: number;
  ho: number;
  wo: number;
  co: number;
  fh: number;
  fw: number;
  top: number;
  left: number;
  /** Strides (1 when omitted). */
  sh?: number;
  sw?: number;
  /** Dilations (1 when omitted). */
  dh?: number;
  dw?: number;
}

/** The geometry of a convolution tfjs describes by `info` (every field set). */
export function geometryOf(info: tf.backend_util.Conv2DInfo): Required<ConvGeometry> {
  return {
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    ho: info.outHeight,
    wo: info.outWidth,
    co: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
  };
}

/** The largest divisor of `n` that is at most `limit` (1 if none above 1): a tile size. */
export function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}
