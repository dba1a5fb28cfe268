/**
 * Convolution gradients for the wasm backend, each built from ONE forward convolution of the
 * stock wasm backend (XNNPACK) plus transposes and pads:
 *
 * - filter gradient: the batch axis becomes the channel axis and vice versa, so
 *   `dW = T(conv(T(xPad), T(dy), stride 1, dilation = strides))`;
 * - input gradient: `dx = conv(pad(spread(dy, strides)), flip(W) with in/out swapped, stride 1)`.
 *
 * Depthwise convolutions use the same ideas with a depthwise forward convolution, moving the batch
 * into the channel axis so that no work is wasted.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type KernelArgs, type KernelScope, pair, wasmKernel, withScope } from "./_scope.ts";
import { filterGradModule, type FilterGradShape, filterGradSupported } from "./wasm/filter_grad.ts";
import { backendMemory, instantiate, partsFor, runParts, splitRange } from "./wasm/runtime.ts";
import { geometryOf } from "./wasm/geometry.ts";
import { elementwiseModule } from "./wasm/elementwise.ts";
import {
  convForwardModule,
  convForwardSupported,
  type ConvShape,
  scratchSize,
} from "./wasm/conv_forward.ts";

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];

function nhwcShape(shape: number[], format: string | undefined): [number, number, number, number] {
  const [a, b, c, d] = shape;
  return format === "NCHW" ? [a, c, d, b] : [a, b, c, d];
}

/** The attributes every conv backprop kernel shares (dilations only on depthwise ones). */
interface ConvAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: Pad;
  dimRoundingMode?: Rounding;
}

/** tfjs's geometry (output size, padding) of the forward NHWC convolution being differentiated. */
export function convInfo(
  inShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    pair(attrs.dilations),
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}

/**
 * `Conv2DBackpropFilter`: dW[a,b,i,o] = Σ_{n,y,x} xPad[n, y·sh + a, x·sw + b, i] · dy[n,y,x,o].
 * Read as a convolution over the spatial axes with the roles of batch (n) and channels (i)
 * swapped: input `xPad` as [i, H, W, n], filter `dy` as [Ho, Wo, n, o], dilation = strides.
 */
export function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  return withScope(args.backend, (s) => {
    const nchw = attrs.dataFormat === "NCHW";
    const xh = nchw ? s.transpose(x, TO_NHWC) : x;
    const dyh = nchw ? s.transpose(dy, TO_NHWC) : dy;
    const info = convInfo(xh.shape, attrs.filterShape, attrs, false);
    const simd = filterGradientSimd(s, xh, dyh, info);
    if (simd) return simd;
    const [fh, fw, ci] = attrs.filterShape;
    const patchValues = fh * fw * ci * info.batchSize * info.outHeight * info.outWidth;
    if (ci <= GEMM_MAX_IN_CHANNELS && patchValues <= MAX_PATCH_VALUES) {
      return filterGradientGemm(s, xh, dyh, info);
    }
    return filterGradient(s, xh, dyh, info, false);
  });
}

/**
 * The filter gradient by kt's generated SIMD kernel (`wasm/filter_grad.ts`), summed in place from
 * x and dy; undefined when the shape or the backend does not allow it. Measured at batch 128
 * (`bench/kernels_bench.ts`): 28×28×1 → 16: 4.9 → 1.4 ms; 14×14×16 → 32: 18.5 → 7.4 ms.
 */
export function filterGradientSimd(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  const memory = backendMemory(s.kernelBackend);
  if (!memory || x.dtype !== "float32" || dy.dtype !== "float32") return undefined;
  const shape: FilterGradShape = geometryOf(info);
  if (!filterGradSupported(shape)) return undefined;
  // Two halves of the batch, each into its own dW, then summed: the same sums in the same order
  // whether the halves run on one thread or two.
  const dwShape = [shape.fh, shape.fw, shape.ci, shape.co];
  const dw = s.track(s.backend.makeOutput(dwShape, "float32"));
  const partial = s.track(s.backend.makeOutput(dwShape, "float32"));
  const at = (t: tf.TensorInfo) => s.backend.typedArrayFromHeap(t).byteOffset;
  const xImage = shape.h * shape.w * shape.ci * 4;
  const dyImage = shape.ho * shape.wo * shape.co * 4;
  runParts(
    memory,
    `filterGrad ${Object.values(shape).join(",")}`,
    () => filterGradModule(shape),
    "run",
    splitRange(info.batchSize, 2).map(([start, count], k) => [
      at(x) + start * xImage,
      at(dy) + start * dyImage,
      k === 0 ? at(dw) : at(partial),
      count,
    ]),
  );
  // dw += partial (an elementwise add: a "bias" of the whole length over one row).
  const size = tf.util.sizeFromShape(dwShape);
  (instantiate(memory, "elementwise", elementwiseModule).biasAdd as (
    x: number,
    b: number,
    o: number,
    rows: number,
    c: number,
  ) => void)(at(dw), at(partial), at(dw), 1, size);
  return dw;
}

/**
 * When {@linkcode filterGradientGemm} is used: single-channel inputs (measured at batch 128:
 * 1 channel 28×28 → 16: 19 → 5 ms; 3 channels 32×32 → 8: 13 → 11 ms; 8 or 16 channels: no gain,
 * `bench/kernels_bench.ts`) and a patch matrix of at most 2^24 floats (64 MiB of wasm heap).
 */
const GEMM_MAX_IN_CHANNELS = 1;
const MAX_PATCH_VALUES = 2 ** 24;

/**
 * The filter gradient as ONE matrix product: dW[(a,b,i), o] = Σ_m P[(a,b,i), m] · dy[m, o] over
 * the M = N·Ho·Wo output pixels, where row (a,b,i) of the patch matrix P holds input channel i
 * at filter offset (a,b) for every output pixel (zero where it falls into the padding). P is
 * written in JS straight into the heap from x laid out as [Ci, N, H, W], so each row reads
 * contiguous input rows.
 */
function filterGradientGemm(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo } = info;
  const { top, left } = info.padInfo;
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const m = n * ho * wo;
  const xt = ci === 1 ? x : s.transpose(x, [3, 0, 1, 2]); // [Ci, N, H, W]
  const patches = s.track(s.backend.makeOutput([1, fh * fw * ci, m], "float32"));
  // Views only after the allocation: makeOutput may grow (and so detach) the heap.
  const xv = s.backend.typedArrayFromHeap(xt) as Float32Array;
  const pv = s.backend.typedArrayFromHeap(patches) as Float32Array;
  let p = 0; // offset of P[(a,b,i), 0]
  for (let a = 0; a < fh; a++) {
    for (let b = 0; b < fw; b++) {
      // Output columns whose input column lies inside the image: jLo ≤ j < jHi.
      const colOff = b * dw - left;
      const jLo = Math.min(wo, Math.max(0, Math.ceil(-colOff / sw)));
      const jHi = Math.max(jLo, Math.min(wo, Math.ceil((w - colOff) / sw)));
      for (let i = 0; i < ci; i++) {
        for (let img = 0; img < n; img++) {
          const imgBase = (i * n + img) * h * w;
          for (let y = 0; y < ho; y++, p += wo) {
            const r = y * sh + a * dh - top;
            if (r < 0 || r >= h) {
              pv.fill(0, p, p + wo);
              continue;
            }
            if (jLo > 0) pv.fill(0, p, p + jLo);
            let src = imgBase + r * w + jLo * sw + colOff;
            for (let j = jLo; j < jHi; j++, src += sw) pv[p + j] = xv[src];
            if (jHi < wo) pv.fill(0, p + jHi, p + wo);
          }
        }
      }
    }
  }
  const grad = s.run("BatchMatMul", { a: patches, b: s.reshape(dy, [1, m, co]) }, {
    transposeA: false,
    transposeB: false,
  }); // [1, fh·fw·Ci, Co]
  return s.reshape(grad, [fh, fw, ci, co]);
}

/**
 * The shared filter-gradient body. For a regular conv it runs one `Conv2D` over
 * [Ci, rows, cols, N] ⊛ [Ho, Wo, N, Co]; for a depthwise conv one `DepthwiseConv2dNative` over
 * [1, rows, cols, N·C] ⊛ [Ho, Wo, N·C, m] followed by a sum over the batch.
 * Forward dilations become the strides of this convolution and forward strides its dilations.
 */
function filterGradient(
  s: KernelScope,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  depthwise: boolean,
): tf.TensorInfo {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, outHeight: ho, outWidth: wo } = info;
  const [n, h, w, c] = x.shape;
  // Exactly the rows/cols the filter gradient reads, so the conv output is [fh, fw].
  const rows = (fh - 1) * dh + (ho - 1) * sh + 1;
  const cols = (fw - 1) * dw + (wo - 1) * sw + 1;
  const { top, left } = info.padInfo;
  const xp = s.padOrCrop(x, [[0, 0], [top, rows - top - h], [left, cols - left - w], [0, 0]]);
  const convAttrs = {
    strides: [dh, dw],
    dilations: [sh, sw],
    pad: "valid",
    dataFormat: "NHWC",
  };
  if (!depthwise) {
    const xt = s.transpose(xp, [3, 1, 2, 0]); // [Ci, rows, cols, N]
    const dyt = s.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
    const out = s.run("Conv2D", { x: xt, filter: dyt }, convAttrs); // [Ci, fh, fw, Co]
    return s.transpose(out, [1, 2, 0, 3]);
  }
  const m = info.outChannels / c;
  const xt = s.reshape(s.transpose(xp, [1, 2, 0, 3]), [1, rows, cols, n * c]);
  const dyt = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * c, m]);
  const out = s.run("DepthwiseConv2dNative", { x: xt, filter: dyt }, convAttrs); // [1,fh,fw,N·C·m]
  const summed = s.sum(s.reshape(out, [fh, fw, n, c * m]), [2]);
  return s.reshape(summed, [fh, fw, c, m]);
}

/**
 * The shared input-gradient body: spread dy by the strides, pad it so that a stride-1 valid
 * convolution with the spatially flipped filter lands exactly on the input grid.
 * Padding is `(f - 1)·d - pad` before; negative amounts crop rows that reach no input pixel.
 */
function spreadAndPad(
  s: KernelScope,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const spread = s.spread(dy, info.strideHeight, info.strideWidth);
  const [top, bottom, left, right] = inputGradientPads(dy.shape, info);
  return s.padOrCrop(spread, [[0, 0], [top, bottom], [left, right], [0, 0]]);
}

/** [top, bottom, left, right] amounts {@linkcode spreadAndPad} pads (negative: crops) dy by. */
function inputGradientPads(
  dyShape: number[],
  info: tf.backend_util.Conv2DInfo,
): [number, number, number, number] {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { filterHeight: fh, filterWidth: fw, inHeight: h, inWidth: w } = info;
  const top = (fh - 1) * dh - info.padInfo.top;
  const left = (fw - 1) * dw - info.padInfo.left;
  const bottom = h + (fh - 1) * dh - top - dyShape[1] * sh;
  const right = w + (fw - 1) * dw - left - dyShape[2] * sw;
  return [top, bottom, left, right];
}

/**
 * `Conv2DBackpropInput`: dx = conv(pad(spread(dy)), W'), W'[a,b,o,i] = W[fh-1-a, fw-1-b, i, o].
 * For strides > 1 the spread dy is mostly zeros (sh·sw times the ideal work), yet it still
 * measured ~3× faster than the stock kernel at stride 2 (`bench/kernels_bench.ts`).
 */
export function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  return withScope(args.backend, (s) => {
    const nchw = attrs.dataFormat === "NCHW";
    const dyh = nchw ? s.transpose(dy, TO_NHWC) : dy;
    const info = convInfo(
      nhwcShape(attrs.inputShape, attrs.dataFormat),
      filter.shape,
      attrs,
      false,
    );
    const flipped = s.run("Reverse", { x: filter }, { dims: [0, 1] });
    const swapped = s.transpose(flipped, [0, 1, 3, 2]); // [fh, fw, Co, Ci]
    const [top, bottom, left, right] = inputGradientPads(dyh.shape, info);
    // Stride 1 needs no spreading, and XNNPACK pads by itself (no PadV2 copy) when no side crops.
    const direct = info.strideHeight === 1 && info.strideWidth === 1 &&
      Math.min(top, bottom, left, right) >= 0;
    const input = direct ? dyh : spreadAndPad(s, dyh, info);
    const convAttrs = {
      strides: [1, 1] as [number, number],
      dilations: [1, 1] as [number, number],
      pad: direct
        ? [[0, 0], [top, bottom], [left, right], [0, 0]] as tf.backend_util.ExplicitPadding
        : "valid" as const,
      dataFormat: "NHWC",
    };
    const ours = directConv(args.backend, input, swapped, convAttrs);
    const dx = ours ? s.track(ours) : s.run("Conv2D", { x: input, filter: swapped }, convAttrs);
    return nchw ? s.transpose(dx, TO_NCHW) : dx;
  });
}

/**
 * `DepthwiseConv2dNativeBackpropFilter` (any channel multiplier): one depthwise convolution with
 * batch·channels as its channels, then a sum over the batch.
 */
export function depthwiseConv2dNativeBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  return withScope(args.backend, (s) => {
    const info = convInfo(x.shape, attrs.filterShape, attrs, true);
    return filterGradient(s, x, dy, info, true);
  });
}

/**
 * `DepthwiseConv2dNativeBackpropInput` (any channel multiplier m): a depthwise convolution of the
 * spread, padded dy ([N, ·, ·, C·m]) with the flipped filter as [fh, fw, C·m, 1], then a sum
 * over the m outputs of each input channel.
 */
export function depthwiseConv2dNativeBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  return withScope(args.backend, (s) => {
    const info = convInfo(attrs.inputShape, filter.shape, attrs, true);
    const [fh, fw, c, m] = filter.shape;
    const padded = spreadAndPad(s, dy, info);
    const flipped = s.run("Reverse", { x: filter }, { dims: [0, 1] });
    const out = s.run("DepthwiseConv2dNative", {
      x: padded,
      filter: s.reshape(flipped, [fh, fw, c * m, 1]),
    }, {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: "valid",
      dataFormat: "NHWC",
    });
    if (m === 1) return out;
    const [n, h, w] = out.shape;
    return s.sum(s.reshape(out, [n, h, w, c, m]), [4]);
  });
}

/**
 * When kt's generated forward conv replaces XNNPACK's: inputs of at most this many channels
 * (measured at batch 128, `bench/kernels_bench.ts`, one thread: 28×28 1→16: 2.3 → 0.9 ms;
 * 32×32 3→8: 2.9 → 1.5 ms; 16×16 8→16: 2.7 → 2.3 ms; 14×14 16→32: 7.2 → 7.8 ms; 14×14 32→16:
 * 7.1 → 6.7 ms — about even from 16 channels on, but ours splits the batch over threads).
 */
const DIRECT_CONV_MAX_IN_CHANNELS = 32;

/**
 * The forward conv by kt's generated kernel, with an optional bias and ReLU fused in; undefined
 * when the shape, layout or backend does not allow it (the caller then runs the stock kernel).
 */
export function directConv(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: ConvAttrs & { dataFormat?: string; dilations?: number | [number, number] },
  bias?: tf.TensorInfo,
  relu = false,
  maxInChannels = DIRECT_CONV_MAX_IN_CHANNELS,
): tf.TensorInfo | undefined {
  const memory = backendMemory(backend);
  if (!memory || attrs.dataFormat === "NCHW" || x.dtype !== "float32") return undefined;
  if (filter.dtype !== "float32" || x.shape[3] > maxInChannels) return undefined;
  const info = convInfo(x.shape, filter.shape, attrs, false);
  const co = info.outChannels;
  if (bias && (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== co)) {
    return undefined;
  }
  const shape: ConvShape = geometryOf(info);
  if (!convForwardSupported(shape) || info.batchSize === 0) return undefined;
  const epilogue = { bias: bias !== undefined, relu };
  const key = `convForward ${Object.values(shape).join(",")} ${epilogue.bias} ${relu}`;
  return withScope(backend, (s) => {
    const out = s.track(s.backend.makeOutput(info.outShape, "float32"));
    const { rows, cols } = scratchSize(shape);
    // One part of the batch per thread, each with its own zero-bordered scratch image.
    const parts = splitRange(
      info.batchSize,
      partsFor(info.batchSize * shape.ho * shape.wo * co * shape.fh * shape.fw * shape.ci, 1 << 22),
    );
    const scratch = parts.map(() =>
      s.track(s.backend.makeOutput([rows * cols * shape.ci], "float32"))
    );
    const at = (t: tf.TensorInfo) => s.backend.typedArrayFromHeap(t).byteOffset;
    const xImage = shape.h * shape.w * shape.ci * 4;
    const outImage = shape.ho * shape.wo * co * 4;
    runParts(
      memory,
      key,
      () => convForwardModule(shape, epilogue),
      "run",
      parts.map(([start, count], k) => [
        at(x) + start * xImage,
        at(filter),
        at(out) + start * outImage,
        count,
        at(scratch[k]),
        bias ? at(bias) : 0,
      ]),
    );
    return out;
  });
}

/** `Conv2D`: kt's generated kernel for inputs of few channels, XNNPACK's otherwise. */
export function conv2D(args: KernelArgs): tf.TensorInfo {
  const { x, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DAttrs;
  return directConv(args.backend, x, filter, attrs) ??
    wasmKernel(tf.Conv2D)(args) as tf.TensorInfo;
}

/**
 * `FusedConv2D` (conv + bias + activation, used in inference): kt's generated kernel for inputs
 * of few channels with no or `relu` activation; XNNPACK's otherwise.
 */
export function fusedConv2D(args: KernelArgs): tf.TensorInfo {
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
  const activation = attrs.activation ?? "linear";
  if (!preluActivationWeights && (activation === "linear" || activation === "relu")) {
    const out = directConv(args.backend, x, filter, attrs, bias, activation === "relu");
    if (out) return out;
  }
  return wasmKernel(tf.FusedConv2D)(args) as tf.TensorInfo;
}
