/**
 * Every kernel kt registers on wasm is compared with the cpu backend's own implementation on
 * random inputs. Error measure throughout: max |wasm − cpu| / max(max |cpu|, 1e-6) ≤ 1e-4.
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-layers registers the gradient functions of all core ops (as in training).
import "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import assert from "node:assert/strict";
import { createRng, type Rng } from "../../rng.ts";
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from "./mod.ts";
import { RELU_GRAD } from "./elementwise.ts";
import { countKernelCalls } from "./kernel_spy.ts";
import { BATCH_MATMUL } from "./matmul.ts";
import { batchMatMul } from "../batch_matmul.ts";

await tf.setBackend("wasm");
registerWasmTrainingKernels();

const TOL = 1e-4;
type Backend = "wasm" | "cpu";
/** Plain data that can become a tensor on either backend. */
interface Data {
  shape: number[];
  values: Float32Array | Int32Array;
}

function randn(rng: Rng, shape: number[]): Data {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return { shape, values };
}

function t(d: Data): tf.Tensor {
  return tf.tensor(d.values, d.shape, d.values instanceof Int32Array ? "int32" : "float32");
}

/** Runs `build` on wasm and on cpu; returns each output's values per backend. */
async function onBoth(
  build: () => tf.Tensor | tf.Tensor[],
): Promise<Record<Backend, { shape: number[]; values: Float32Array }[]>> {
  const result = {} as Record<Backend, { shape: number[]; values: Float32Array }[]>;
  for (const backend of ["wasm", "cpu"] as const) {
    await tf.setBackend(backend);
    const outs = tf.tidy(build);
    const list = Array.isArray(outs) ? outs : [outs];
    result[backend] = list.map((o) => ({ shape: o.shape, values: o.dataSync() as Float32Array }));
    tf.dispose(list);
  }
  await tf.setBackend("wasm");
  return result;
}

/** Runs kernel `name` directly on the active backend. */
function kernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

function sumSq(v: tf.Tensor): tf.Scalar {
  return tf.sum(tf.square(v));
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

async function assertSameOnBoth(label: string, build: () => tf.Tensor | tf.Tensor[]) {
  const r = await onBoth(build);
  r.cpu.forEach((ref, i) => {
    const got = r.wasm[i];
    assert.deepEqual(got.shape, ref.shape, `${label}: output ${i} shape`);
    assert.ok(
      Number.isFinite(relErr(got.values, ref.values)),
      `${label}: non-finite output`,
    );
    const err = relErr(got.values, ref.values);
    assert.ok(err <= TOL, `${label}: output ${i} relative error ${err.toExponential(2)}`);
  });
}

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;
const PADS: Pad[] = ["same", "valid", [[0, 0], [1, 2], [2, 0], [0, 0]]];
const STRIDES: Array<number | [number, number]> = [1, 2, [2, 3]];
const KSIZES = [1, 3, 5];

/** All kernel size × stride × padding combinations, with batch and channels varied along. */
function convCases() {
  const cases = [];
  let i = 0;
  for (const k of KSIZES) {
    for (const strides of STRIDES) {
      for (const pad of PADS) {
        const batch = i % 2 === 0 ? 1 : 3;
        const inC = i % 3 === 0 ? 1 : 3;
        const outC = i % 4 === 0 ? 1 : 4;
        const h = 7 + (i % 4);
        const w = 8 + (i % 3);
        cases.push({ k, strides, pad, batch, inC, outC, h, w, label: "" });
        cases[cases.length - 1].label = `k${k} s${strides} ${JSON.stringify(pad)} ` +
          `n${batch} c${inC}→${outC} ${h}×${w}`;
        i++;
      }
    }
  }
  return cases;
}

function convOutShape(
  x: number[],
  f: number[],
  strides: number | [number, number],
  dil: number | [number, number],
  pad: Pad,
  depthwise: boolean,
) {
  return tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    f as [number, number, number, number],
    strides,
    dil,
    pad,
    undefined,
    depthwise,
  ).outShape;
}

Deno.test("registerWasmTrainingKernels() is idempotent and registers every kernel on wasm", () => {
  const before = WASM_TRAINING_KERNELS.map((n) => tf.getKernel(n, "wasm")?.kernelFunc);
  registerWasmTrainingKernels();
  const after = WASM_TRAINING_KERNELS.map((n) => tf.getKernel(n, "wasm")?.kernelFunc);
  assert.ok(before.every((f) => f !== undefined));
  assert.deepEqual(after, before);
});

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput on wasm match cpu", async () => {
  const rng = createRng(1);
  for (const c of convCases()) {
    const xShape = [c.batch, c.h, c.w, c.inC];
    const fShape = [c.k, c.k, c.inC, c.outC];
    const x = randn(rng, xShape);
    const f = randn(rng, fShape);
    const dy = randn(rng, convOutShape(xShape, fShape, c.strides, 1, c.pad, false));
    await assertSameOnBoth(
      `Conv2DBackpropFilter ${c.label}`,
      () =>
        kernel(tf.Conv2DBackpropFilter, { x: t(x), dy: t(dy) }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: "NHWC",
          filterShape: fShape,
        }),
    );
    await assertSameOnBoth(
      `Conv2DBackpropInput ${c.label}`,
      () =>
        kernel(tf.Conv2DBackpropInput, { dy: t(dy), filter: t(f) }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: "NHWC",
          inputShape: xShape,
        }),
    );
  }
});

Deno.test("Conv2DBackpropFilter and Conv2DBackpropInput accept NCHW data on wasm", async () => {
  const rng = createRng(10);
  const xShape = [2, 3, 9, 8]; // N, C, H, W
  const fShape = [3, 3, 3, 4];
  const x = randn(rng, xShape);
  const f = randn(rng, fShape);
  const dy = randn(rng, [2, 4, 5, 4]); // stride 2, same: 9×8 → 5×4
  const attrs = { strides: 2, pad: "same", dataFormat: "NCHW" };
  await assertSameOnBoth(
    "Conv2DBackpropFilter NCHW",
    () =>
      kernel(tf.Conv2DBackpropFilter, { x: t(x), dy: t(dy) }, {
        ...attrs,
        filterShape: fShape,
      }),
  );
  await assertSameOnBoth(
    "Conv2DBackpropInput NCHW",
    () =>
      kernel(tf.Conv2DBackpropInput, { dy: t(dy), filter: t(f) }, {
        ...attrs,
        inputShape: xShape,
      }),
  );
});

Deno.test("depthwise conv backprop kernels on wasm match cpu (multiplier 1 and 2)", async () => {
  const rng = createRng(2);
  const cases = convCases().map((c, i) => ({
    ...c,
    mult: i % 2 === 0 ? 1 : 2,
    dilations: 1 as number | [number, number],
  }));
  for (const c of cases) {
    const xShape = [c.batch, c.h + 4, c.w + 4, c.inC];
    const fShape = [c.k, c.k, c.inC, c.mult];
    const x = randn(rng, xShape);
    const f = randn(rng, fShape);
    const dy = randn(rng, convOutShape(xShape, fShape, c.strides, c.dilations, c.pad, true));
    const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad };
    const label = `${c.label} m${c.mult}`;
    await assertSameOnBoth(
      `DepthwiseConv2dNativeBackpropFilter ${label}`,
      () =>
        kernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: t(x), dy: t(dy) }, {
          ...attrs,
          filterShape: fShape,
        }),
    );
    await assertSameOnBoth(
      `DepthwiseConv2dNativeBackpropInput ${label}`,
      () =>
        kernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: t(dy), filter: t(f) }, {
          ...attrs,
          inputShape: xShape,
        }),
    );
  }
});

/**
 * Plain-loop depthwise backprop from the forward definition
 * y[n,i,j,c·m+q] = Σ_{a,b} x[n, i·sh + a·dh − top, j·sw + b·dw − left, c] · W[a,b,c,q].
 * (The cpu backend's depthwise backprop kernels ignore dilations, so they cannot serve here.)
 */
function naiveDepthwiseBackprop(
  x: Data,
  w: Data,
  dy: Data,
  info: tf.backend_util.Conv2DInfo,
): { dx: Float32Array; dw: Float32Array } {
  const [n, h, wd, c] = x.shape;
  const [fh, fw, , m] = w.shape;
  const [, ho, wo] = dy.shape;
  const dx = new Float32Array(x.values.length);
  const dw = new Float32Array(w.values.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        for (let a = 0; a < fh; a++) {
          for (let e = 0; e < fw; e++) {
            const r = i * info.strideHeight + a * info.dilationHeight - info.padInfo.top;
            const s = j * info.strideWidth + e * info.dilationWidth - info.padInfo.left;
            if (r < 0 || r >= h || s < 0 || s >= wd) continue;
            for (let k = 0; k < c; k++) {
              for (let q = 0; q < m; q++) {
                const g = dy.values[((b * ho + i) * wo + j) * c * m + k * m + q];
                const xi = ((b * h + r) * wd + s) * c + k;
                const wi = ((a * fw + e) * c + k) * m + q;
                dw[wi] += x.values[xi] * g;
                dx[xi] += w.values[wi] * g;
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw };
}

Deno.test("depthwise conv backprop kernels with dilations on wasm match a plain loop", async () => {
  const rng = createRng(9);
  const cases: Array<[number, number | [number, number], Pad, number]> = [
    [3, 2, "same", 1],
    [3, [2, 1], "valid", 2],
    [5, [1, 2], [[0, 0], [1, 2], [2, 0], [0, 0]], 1],
    [3, [3, 2], "same", 2],
  ];
  for (const [k, dilations, pad, m] of cases) {
    const xShape = [2, 13, 12, 3];
    const fShape = [k, k, 3, m];
    const x = randn(rng, xShape);
    const w = randn(rng, fShape);
    const info = tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      fShape as [number, number, number, number],
      1,
      dilations,
      pad,
      undefined,
      true,
    );
    const dy = randn(rng, info.outShape);
    const ref = naiveDepthwiseBackprop(x, w, dy, info);
    const attrs = { strides: 1, dilations, pad };
    const label = `k${k} dil${dilations} ${JSON.stringify(pad)} m${m}`;
    const [dw, dx] = tf.tidy(() => [
      kernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: t(x), dy: t(dy) }, {
        ...attrs,
        filterShape: fShape,
      }),
      kernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: t(dy), filter: t(w) }, {
        ...attrs,
        inputShape: xShape,
      }),
    ]);
    const errW = relErr(await dw.data() as Float32Array, ref.dw);
    const errX = relErr(await dx.data() as Float32Array, ref.dx);
    tf.dispose([dw, dx]);
    assert.ok(errW <= TOL, `filter grad ${label}: relative error ${errW.toExponential(2)}`);
    assert.ok(errX <= TOL, `input grad ${label}: relative error ${errX.toExponential(2)}`);
  }
});

Deno.test("MaxPoolGrad on wasm matches cpu, ties included (one winner per window)", async () => {
  const rng = createRng(3);
  const configs: Array<
    [number | [number, number], number | [number, number], "same" | "valid" | number]
  > = [
    [2, 2, "valid"],
    [2, 2, "same"],
    [3, 1, "same"],
    [3, 2, "valid"],
    [[2, 3], [2, 3], "same"],
    [3, 2, 1],
  ];
  for (const [filterSize, strides, pad] of configs) {
    for (const ties of [false, true]) {
      const shape = [ties ? 2 : 1, 9, 10, ties ? 1 : 3];
      const x = randn(rng, shape);
      // Few distinct values make equal maxima inside a window common.
      if (ties) x.values.forEach((v, i) => (x.values[i] = Math.round(v)));
      const label = `MaxPoolGrad f${filterSize} s${strides} ${pad} ties=${ties}`;
      await assertSameOnBoth(label, () => {
        const xt = t(x) as tf.Tensor4D;
        const y = tf.maxPool(xt, filterSize, strides, pad);
        const dy = tf.add(tf.reshape(tf.range(0, y.size), y.shape), 1);
        return kernel(tf.MaxPoolGrad, { dy, input: xt, output: y }, {
          filterSize,
          strides,
          pad,
        });
      });
    }
  }
});

Deno.test("MaxPoolGrad's 2×2 SIMD path matches cpu with ties, NaN, -∞ and odd edges", async () => {
  const rng = createRng(31);
  for (const shape of [[2, 8, 10, 8], [1, 9, 7, 4], [3, 4, 4, 12]]) {
    const x = randn(rng, shape);
    x.values.forEach((v, i) => {
      // Rounded values tie often; every 7th entry is NaN, every 11th -∞.
      x.values[i] = i % 7 === 3 ? NaN : i % 11 === 5 ? -Infinity : Math.round(v);
    });
    // A window of four -∞ (no winner: all zero) and one of four NaN.
    const c = shape[3];
    const rowStep = shape[2] * c;
    for (const [at, v] of [[0, -Infinity], [2 * c, NaN]] as const) {
      for (const o of [0, c, rowStep, rowStep + c]) x.values[at + o] = v;
    }
    await assertSameOnBoth(`MaxPoolGrad 2×2 ${shape}`, () => {
      const xt = t(x) as tf.Tensor4D;
      const y = tf.maxPool(xt, 2, 2, "valid");
      const dy = tf.add(tf.reshape(tf.range(0, y.size), y.shape), 1);
      return kernel(tf.MaxPoolGrad, { dy, input: xt, output: y }, {
        filterSize: 2,
        strides: 2,
        pad: "valid",
      });
    });
  }
});

Deno.test("BatchMatMul and fused matMul with transposes on wasm match cpu", async () => {
  const rng = createRng(4);
  const shapes: Array<[number[], number[]]> = [
    [[5, 7], [7, 3]],
    [[1, 4, 6], [1, 6, 2]],
    [[3, 4, 6], [3, 6, 5]],
    [[3, 4, 6], [1, 6, 5]], // broadcast batch
    [[2, 2, 3, 4], [2, 2, 4, 3]],
    // Output columns a multiple of 4: kt's convolution kernels (even and odd row counts).
    [[6, 9], [9, 8]],
    [[7, 5], [5, 12]],
    [[1, 6, 10], [1, 10, 4]],
    [[64, 33], [33, 16]],
  ];
  for (const [sa, sb] of shapes) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const r = sa.length;
        const swap = (s: number[], on: boolean) =>
          on ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s;
        const a = randn(rng, swap(sa, transposeA));
        const b = randn(rng, swap(sb, transposeB));
        const label = `${sa}×${sb} tA=${transposeA} tB=${transposeB}`;
        await assertSameOnBoth(
          `matMul ${label}`,
          () => tf.matMul(t(a), t(b), transposeA, transposeB),
        );
        if (r !== 2) continue;
        const bias = randn(rng, [sb[1]]);
        await assertSameOnBoth(`fused.matMul ${label}`, () =>
          tf.fused.matMul({
            a: t(a) as tf.Tensor2D,
            b: t(b) as tf.Tensor2D,
            transposeA,
            transposeB,
            bias: t(bias),
            activation: "relu",
          }));
      }
    }
  }
});

Deno.test("KtBatchMatMul and batchMatMul's gradients on wasm match cpu's matMul, every flag", async () => {
  const rng = createRng(41);
  // Output columns a multiple of 4 go slice by slice through the generated kernels; 5 and 3 columns
  // (and both flags) fall back to the stock kernel; a batch of 1 and RKD's square Gram shape too.
  const shapes: Array<[number[], number[]]> = [
    [[3, 4, 6], [3, 6, 8]],
    [[5, 7, 9], [5, 9, 4]],
    [[1, 6, 10], [1, 10, 4]],
    [[4, 8, 16], [4, 16, 8]],
    [[3, 4, 6], [3, 6, 5]],
    [[2, 3, 2], [2, 2, 3]],
    [[2, 3, 4], [2, 4, 0]], // empty output
  ];
  for (const [sa, sb] of shapes) {
    for (
      const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]
    ) {
      const swap = (s: number[], on: boolean) => on ? [s[0], s[2], s[1]] : s;
      const a = randn(rng, swap(sa, transposeA));
      const b = randn(rng, swap(sb, transposeB));
      const w = randn(rng, [sa[0], sa[1], sb[2]]);
      const label = `${sa}×${sb} tA=${transposeA} tB=${transposeB}`;
      // The kernel itself on wasm against cpu's matMul of the same operands.
      const r = await onBoth(() =>
        tf.getBackend() === "wasm"
          ? kernel(BATCH_MATMUL, { a: t(a), b: t(b) }, { transposeA, transposeB })
          : tf.matMul(t(a), t(b), transposeA, transposeB)
      );
      assert.deepEqual(r.wasm[0].shape, r.cpu[0].shape, label);
      const err = relErr(r.wasm[0].values, r.cpu[0].values);
      assert.ok(err <= TOL, `KtBatchMatMul ${label}: relative error ${err.toExponential(2)}`);
      // batchMatMul (the kernel on wasm, tf.matMul on cpu) and both gradients of a weighted sum.
      await assertSameOnBoth(`batchMatMul and its gradients ${label}`, () => {
        const f = (x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(
            tf.mul(batchMatMul(x as tf.Tensor3D, y as tf.Tensor3D, transposeA, transposeB), t(w)),
          );
        return [
          batchMatMul(t(a) as tf.Tensor3D, t(b) as tf.Tensor3D, transposeA, transposeB),
          ...tf.grads(f)([t(a), t(b)]),
        ];
      });
    }
  }
});

Deno.test("KtBatchMatMul goes slice by slice through kt's kernels, not the stock BatchMatMul", () => {
  const rng = createRng(42);
  const a = t(randn(rng, [6, 8, 12]));
  const calls = countKernelCalls(["BatchMatMul", BATCH_MATMUL], () => {
    tf.dispose(batchMatMul(a as tf.Tensor3D, a as tf.Tensor3D, false, true));
  });
  assert.deepEqual(calls, { BatchMatMul: 0, [BATCH_MATMUL]: 1 });
  // Mismatched inner sizes are refused as tf.matMul refuses them; a broadcast batch is tf.matMul's.
  const b = t(randn(rng, [6, 8, 5]));
  assert.throws(() => batchMatMul(a as tf.Tensor3D, b as tf.Tensor3D, false, true), /inner/i);
  const one = t(randn(rng, [1, 12, 4])) as tf.Tensor3D;
  const broadcast = batchMatMul(a as tf.Tensor3D, one);
  assert.deepEqual(broadcast.shape, [6, 8, 4]);
  assert.ok(relErr(broadcast.dataSync(), tf.matMul(a, one).dataSync()) === 0);
  tf.dispose([a, b, one, broadcast]);
});

Deno.test("UnsortedSegmentSum on wasm matches cpu (float and int)", async () => {
  const rng = createRng(5);
  const x = randn(rng, [6, 3, 2]);
  const xi: Data = {
    shape: [6, 3, 2],
    values: Int32Array.from(x.values, (v) => Math.round(v * 5)),
  };
  const ids: Data = { shape: [6], values: Int32Array.from([2, 0, 2, 3, 0, 2]) };
  await assertSameOnBoth(
    "segment sum float",
    () => tf.unsortedSegmentSum(t(x), t(ids) as tf.Tensor1D, 5),
  );
  await assertSameOnBoth(
    "segment sum int",
    () => tf.unsortedSegmentSum(t(xi), t(ids) as tf.Tensor1D, 4),
  );
});

Deno.test("tf.grads of conv2d, depthwiseConv2d, maxPool and matMul on wasm match cpu", async () => {
  const rng = createRng(6);
  const x = randn(rng, [3, 10, 9, 4]);
  const w = randn(rng, [3, 3, 4, 5]);
  const dw = randn(rng, [3, 3, 4, 2]);
  const a = randn(rng, [6, 8]);
  const b = randn(rng, [5, 8]);
  const configs: Array<[number | [number, number], "same" | "valid"]> = [
    [1, "same"],
    [2, "valid"],
    [[2, 3], "same"],
  ];
  for (const [strides, pad] of configs) {
    const label = `s${strides} ${pad}`;
    await assertSameOnBoth(
      `grad conv2d ${label}`,
      () =>
        tf.grads((xv: tf.Tensor, wv: tf.Tensor) =>
          sumSq(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, strides, pad))
        )([t(x), t(w)]),
    );
    await assertSameOnBoth(
      `grad depthwiseConv2d ${label}`,
      () =>
        tf.grads((xv: tf.Tensor, wv: tf.Tensor) =>
          sumSq(tf.depthwiseConv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, strides, pad))
        )([t(x), t(dw)]),
    );
  }
  await assertSameOnBoth(
    "grad maxPool",
    () => tf.grad((xv: tf.Tensor) => sumSq(tf.maxPool(xv as tf.Tensor4D, 2, 2, "valid")))(t(x)),
  );
  await assertSameOnBoth(
    "grad matMul (a·bᵀ)",
    () =>
      tf.grads((av: tf.Tensor, bv: tf.Tensor) => sumSq(tf.matMul(av, bv, false, true)))([
        t(a),
        t(b),
      ]),
  );
});

Deno.test("Identity and same-dtype Cast on wasm share memory; other casts match cpu", async () => {
  const rng = createRng(11);
  const x = randn(rng, [3, 4, 5]);
  const before = tf.engine().backend.numDataIds();
  const xt = t(x);
  const copy = kernel(tf.Identity, { x: xt }, {});
  const same = kernel(tf.Cast, { x: xt }, { dtype: "float32" });
  // Three tensors, one buffer: no copy was made.
  assert.equal(tf.engine().backend.numDataIds(), before + 1);
  assert.deepEqual(copy.dataSync(), x.values);
  xt.dispose();
  assert.deepEqual(same.dataSync(), x.values, "the shared buffer outlives the input");
  tf.dispose([copy, same]);
  assert.equal(tf.engine().backend.numDataIds(), before);
  await assertSameOnBoth(
    "Cast float32→int32",
    () => kernel(tf.Cast, { x: t(x) }, { dtype: "int32" }),
  );
  x.values[0] = 0; // a zero, so that bool gets both values
  for (const [from, to] of [["float32", "bool"], ["int32", "bool"], ["bool", "int32"]] as const) {
    await assertSameOnBoth(`Cast ${from}→${to}`, () => {
      const input = from === "float32" ? t(x) : tf.cast(tf.mul(t(x), 3), from);
      return tf.cast(kernel(tf.Cast, { x: input }, { dtype: to }), "float32");
    });
  }
});

Deno.test("Tile on wasm matches cpu for float, int and bool tensors", async () => {
  const rng = createRng(12);
  const cases: Array<[number[], number[]]> = [
    [[1, 1, 1, 8], [4, 3, 5, 1]], // a batch-norm gradient's broadcast
    [[2, 3], [3, 2]],
    [[3, 1, 2], [1, 4, 1]],
    [[5], [3]],
    [[2, 2, 2], [1, 1, 1]],
  ];
  for (const [shape, reps] of cases) {
    const x = randn(rng, shape);
    const ints = { shape, values: Int32Array.from(x.values, (v) => Math.round(v * 10)) };
    await assertSameOnBoth(`Tile float ${shape} × ${reps}`, () => tf.tile(t(x), reps));
    await assertSameOnBoth(`Tile int ${shape} × ${reps}`, () => tf.tile(t(ints), reps));
    await assertSameOnBoth(
      `Tile bool ${shape} × ${reps}`,
      () => tf.cast(tf.tile(tf.greater(t(x), 0), reps), "float32"),
    );
  }
});

Deno.test("Sum and Mean on wasm match cpu over leading, trailing and mixed axes", async () => {
  const rng = createRng(13);
  const x = randn(rng, [6, 5, 4, 3]);
  const axesList: Array<number | number[]> = [[0, 1, 2], [0], [0, 1], [2, 1, 0], [3], [1, 2], [
    0,
    2,
  ], -4];
  for (const axis of axesList) {
    for (const keepDims of [false, true]) {
      const label = `axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
      await assertSameOnBoth(`Sum ${label}`, () => tf.sum(t(x), axis, keepDims));
      await assertSameOnBoth(`Mean ${label}`, () => tf.mean(t(x), axis, keepDims));
    }
  }
  const ints = { shape: [4, 3], values: Int32Array.from({ length: 12 }, (_, i) => i - 5) };
  await assertSameOnBoth("Sum int32 axis 0", () => tf.sum(t(ints), 0));
  // Large values: float64 accumulation keeps the sum exact where float32 would round.
  const big = { shape: [3, 1], values: Float32Array.from([16777216, 1, 1]) };
  assert.deepEqual(Array.from(tf.sum(t(big), 0).dataSync()), [16777218]);
  const big4 = {
    shape: [3, 4],
    values: Float32Array.from({ length: 12 }, (_, i) => i < 4 ? 2 ** 24 : 1),
  };
  assert.deepEqual(Array.from(tf.sum(t(big4), 0).dataSync()), [
    2 ** 24 + 2,
    2 ** 24 + 2,
    2 ** 24 + 2,
    2 ** 24 + 2,
  ]);
});

Deno.test("Sum and Mean over leading axes equal a float64 reference for every column tiling", () => {
  const rng = createRng(17);
  for (const inner of [4, 8, 12, 16, 20, 28, 36, 64]) {
    for (const rows of [1, 7, 130]) {
      const x = randn(rng, [rows, inner]);
      const ref = new Float64Array(inner);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < inner; j++) ref[j] += x.values[r * inner + j];
      }
      const sum = tf.tidy(() => tf.sum(t(x), 0).dataSync());
      const mean = tf.tidy(() => tf.mean(t(x), 0).dataSync());
      for (let j = 0; j < inner; j++) {
        assert.equal(sum[j], Math.fround(ref[j]), `sum rows ${rows} inner ${inner} column ${j}`);
        assert.equal(
          mean[j],
          Math.fround(ref[j] / rows),
          `mean rows ${rows} inner ${inner} column ${j}`,
        );
      }
    }
  }
});

Deno.test("kt wasm kernels leave no tensors or wasm buffers behind when run repeatedly", () => {
  const rng = createRng(7);
  const x = t(randn(rng, [2, 8, 8, 3])) as tf.Tensor4D;
  const w = t(randn(rng, [3, 3, 3, 4])) as tf.Tensor4D;
  const dw = t(randn(rng, [3, 3, 3, 2])) as tf.Tensor4D;
  const a = t(randn(rng, [4, 6]));
  const ids = tf.tensor1d([0, 1], "int32");
  const loss = (xv: tf.Tensor4D, wv: tf.Tensor4D, dwv: tf.Tensor4D) =>
    tf.addN([
      sumSq(tf.conv2d(xv, wv, 2, "same")),
      sumSq(tf.conv2d(xv, wv, 1, "same")),
      sumSq(tf.depthwiseConv2d(xv, dwv, 1, "same")),
      tf.sum(tf.maxPool(xv, 2, 2, "valid")),
      tf.sum(tf.matMul(a, a, true, false)),
      tf.sum(batchMatMul(tf.reshape(xv, [2, 64, 3]), tf.reshape(xv, [2, 64, 3]), false, true)),
      tf.sum(tf.unsortedSegmentSum(xv, ids, 3)),
      tf.sum(tf.mean(tf.mul(tf.tile(tf.sum(xv, [0, 1, 2], true), [2, 8, 8, 1]), xv), [0, 1])),
    ]) as tf.Scalar;
  const step = () =>
    tf.tidy(() =>
      tf.grads((xv, wv, dwv) => loss(xv as tf.Tensor4D, wv as tf.Tensor4D, dwv as tf.Tensor4D))([
        x,
        w,
        dw,
      ])
    );
  tf.dispose(step()); // warm-up
  // Intermediates live only in the wasm backend, so count its buffers too.
  const buffers = () => tf.engine().backend.numDataIds();
  const [tensorsBefore, buffersBefore] = [tf.memory().numTensors, buffers()];
  for (let i = 0; i < 3; i++) tf.dispose(step());
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.equal(buffers(), buffersBefore);
  tf.dispose([x, w, dw, a, ids]);
});

Deno.test("a 2-conv CNN gradient step with tf.variableGrads on wasm matches cpu", async () => {
  const rng = createRng(8);
  const init = {
    w1: randn(rng, [3, 3, 1, 4]),
    b1: randn(rng, [4]),
    w2: randn(rng, [3, 3, 4, 8]),
    b2: randn(rng, [8]),
    wd: randn(rng, [3 * 3 * 8, 10]),
  };
  const xs = randn(rng, [5, 12, 12, 1]);
  const labels = Int32Array.from({ length: 5 }, (_, i) => (i * 3) % 10);
  await assertSameOnBoth("CNN variableGrads", () => {
    const vars = Object.fromEntries(
      Object.entries(init).map(([k, v]) => [k, tf.variable(t(v), true, `kt_e2e_${k}`)]),
    );
    const { grads } = tf.variableGrads(() => {
      const conv = (x: tf.Tensor4D, w: tf.Variable, b: tf.Variable) =>
        tf.relu(tf.add(tf.conv2d(x, w as tf.Tensor4D, 1, "same"), b)) as tf.Tensor4D;
      let h = tf.maxPool(conv(t(xs) as tf.Tensor4D, vars.w1, vars.b1), 2, 2, "valid");
      h = tf.maxPool(conv(h, vars.w2, vars.b2), 2, 2, "valid");
      const logits = tf.matMul(tf.reshape(h, [5, -1]), vars.wd);
      const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
      return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
    }, Object.values(vars));
    const out = Object.keys(init).map((k) => grads[`kt_e2e_${k}`].clone());
    tf.dispose(Object.values(grads));
    tf.dispose(Object.values(vars));
    return out;
  });
});

Deno.test("Conv2DBackpropFilter's SIMD register tiles (several in/out channels) match cpu", async () => {
  const rng = createRng(21);
  const cases: Array<
    { x: number[]; k: number; co: number; strides: number | [number, number]; pad: Pad }
  > = [
    { x: [2, 9, 9, 16], k: 3, co: 32, strides: 1, pad: "same" }, // 2 channels × 16 outputs per tile
    { x: [2, 8, 7, 6], k: 3, co: 12, strides: 2, pad: "valid" }, // 2 × 12
    { x: [1, 6, 6, 5], k: 5, co: 8, strides: [2, 1], pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
    { x: [3, 5, 5, 3], k: 1, co: 4, strides: 1, pad: "same" }, // 3 × 4
  ];
  for (const c of cases) {
    const fShape = [c.k, c.k, c.x[3], c.co];
    const x = randn(rng, c.x);
    const dy = randn(rng, convOutShape(c.x, fShape, c.strides, 1, c.pad, false));
    await assertSameOnBoth(
      `Conv2DBackpropFilter ${JSON.stringify(c)}`,
      () =>
        kernel(tf.Conv2DBackpropFilter, { x: t(x), dy: t(dy) }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: "NHWC",
          filterShape: fShape,
        }),
    );
  }
});

Deno.test("the ReLU gradient on wasm (fused KtReluGrad) equals cpu bit for bit, NaN, ±0 and ∞ included", async () => {
  const rng = createRng(41);
  for (const shape of [[2, 5, 5, 4], [7], [3, 6]]) {
    const x = randn(rng, shape);
    const special = [NaN, 0, -0, Infinity, -Infinity, 1e-30, -1e-30];
    special.forEach((v, i) => (x.values[(i * 3) % x.values.length] = v));
    const dy = randn(rng, shape);
    dy.values[1] = Infinity;
    dy.values[2] = NaN;
    const r = await onBoth(() => tf.grad((v: tf.Tensor) => tf.relu(v))(t(x), t(dy)));
    assert.deepEqual(Array.from(r.wasm[0].values), Array.from(r.cpu[0].values), `shape ${shape}`);
  }
  // The fused kernel is what ran on wasm.
  const calls = countKernelCalls([RELU_GRAD], () => {
    tf.tidy(() => tf.grad((v: tf.Tensor) => tf.relu(v))(tf.ones([4, 4])));
  });
  assert.equal(calls[RELU_GRAD], 1);
});

Deno.test("Add of a bias over the last axis (SIMD path) and every other Add equal cpu bit for bit", async () => {
  const rng = createRng(43);
  const pairs: Array<[number[], number[]]> = [
    [[3, 4, 5, 8], [8]], // bias, C = 8
    [[4], [2, 3, 4]], // bias first
    [[6, 12], [12]],
    [[3, 6], [6]], // C not a multiple of 4: stock
    [[2, 3], [2, 3]], // same shape: stock
    [[2, 1, 4], [3, 1]], // general broadcast: stock
    [[8], [8]], // rank 1 both: stock
  ];
  for (const [sa, sb] of pairs) {
    const a = randn(rng, sa);
    const b = randn(rng, sb);
    const r = await onBoth(() => tf.add(t(a), t(b)));
    assert.deepEqual(r.wasm[0].shape, r.cpu[0].shape);
    assert.deepEqual(Array.from(r.wasm[0].values), Array.from(r.cpu[0].values), `${sa} + ${sb}`);
  }
  const ints = await onBoth(() =>
    tf.add(tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32"), tf.tensor1d([1, 1, 1, 1], "int32"))
  );
  assert.deepEqual(Array.from(ints.wasm[0].values), [2, 3, 4, 5]);
});

Deno.test("Conv2D and FusedConv2D on wasm (kt's kernel for ≤ 8 input channels) match cpu", async () => {
  const rng = createRng(51);
  let i = 0;
  for (const k of [1, 3, 5]) {
    for (const strides of STRIDES) {
      for (const pad of PADS) {
        for (const dil of k === 3 && strides === 1 ? [1, 2] : [1]) {
          const inC = [1, 3, 8, 16][i % 4];
          const outC = [4, 8, 12, 6][i % 4]; // 6: not a multiple of 4 → stock kernel
          const xShape = [1 + (i % 3), 7 + (i % 4), 8 + (i % 3), inC];
          const fShape = [k, k, inC, outC];
          const x = randn(rng, xShape);
          const f = randn(rng, fShape);
          const b = randn(rng, [outC]);
          const label = `k${k} s${strides} d${dil} ${JSON.stringify(pad)} ${xShape}→${outC}`;
          i++;
          if (dil > 1 && pad !== "same" && pad !== "valid") continue; // tfjs: no explicit + dilation
          await assertSameOnBoth(
            `Conv2D ${label}`,
            () => tf.conv2d(t(x) as tf.Tensor4D, t(f) as tf.Tensor4D, strides, pad, "NHWC", dil),
          );
          for (const activation of ["linear", "relu", "elu"] as const) {
            await assertSameOnBoth(`FusedConv2D ${activation} ${label}`, () =>
              tf.fused.conv2d({
                x: t(x) as tf.Tensor4D,
                filter: t(f) as tf.Tensor4D,
                strides,
                pad,
                dilations: dil,
                bias: activation === "linear" ? undefined : t(b),
                activation,
              }));
          }
        }
      }
    }
  }
});

Deno.test("MaxPool (2×2 SIMD path) and Relu on wasm equal cpu bit for bit, NaN, ±0 and −∞ included", async () => {
  const rng = createRng(61);
  // (Channels a multiple of 4: kt's path. tfjs-wasm's own max-pool, used for other shapes,
  // treats NaN differently from the cpu backend.)
  for (const shape of [[2, 8, 10, 8], [1, 9, 7, 4], [3, 4, 4, 12]]) {
    const x = randn(rng, shape);
    x.values.forEach((v, i) => {
      x.values[i] = i % 7 === 3
        ? NaN
        : i % 11 === 5
        ? -Infinity
        : i % 13 === 1
        ? -0
        : Math.round(v);
    });
    const c = shape[3];
    // A window of four NaN and one of four −∞.
    for (const [at, v] of [[0, NaN], [2 * c, -Infinity]] as const) {
      for (const o of [0, c, shape[2] * c, shape[2] * c + c]) x.values[at + o] = v;
    }
    const pooled = await onBoth(() => tf.maxPool(t(x) as tf.Tensor4D, 2, 2, "valid"));
    assert.deepEqual(
      Array.from(pooled.wasm[0].values),
      Array.from(pooled.cpu[0].values),
      `maxPool ${shape}`,
    );
    const relu = await onBoth(() => tf.relu(t(x)));
    assert.deepEqual(
      Array.from(relu.wasm[0].values),
      Array.from(relu.cpu[0].values),
      `relu ${shape}`,
    );
  }
});
