/**
 * Generated SIMD kernels for two elementwise steps of every conv/dense layer:
 *
 * - `reluGrad(dy, x, out, n4)`: out = dy · step(x), step = 1 where x > 0, NaN where x is NaN, 0
 *   otherwise — the same float32 product tfjs's ReLU gradient (`mul(dy, step(x))`) computes;
 * - `biasAdd(x, bias, out, rows, c)`: out[r, j] = x[r, j] + bias[j] for a [rows, c] view;
 * - `relu(x, out, n4)`: out = max(x, 0).
 *
 * Both handle whole vectors only (`n4` entries, `c` a multiple of 4); callers do any tail.
 * @module
 */
import { encodeModule, FunctionBuilder } from "./encode.ts";

function reluGrad(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32"]);
  const [dy, x, out, n4] = f.params;
  const off = f.local("i32");
  const end = f.local("i32");
  const xv = f.local("v128");
  const step = f.local("v128");
  f.get(n4).i32(4).i32Mul().set(end);
  f.forRange(off, 0, end, 16, () => {
    f.get(x).get(off).i32Add().v128Load().set(xv);
    // step = x > 0 ? 1 : 0, then NaN where x ≠ x (bitselect(a, b, m) = m ? a : b).
    f.f32x4Const([1, 1, 1, 1]).v128Zero().get(xv).v128Zero().f32x4Gt().v128Bitselect().set(step);
    f.f32x4Const([NaN, NaN, NaN, NaN]).get(step).get(xv).get(xv).f32x4Ne().v128Bitselect();
    f.set(step);
    f.get(out).get(off).i32Add();
    f.get(dy).get(off).i32Add().v128Load().get(step).f32x4Mul().v128Store();
  });
  return f;
}

function biasAdd(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32"]);
  const [x, bias, out, rows, c] = f.params;
  const row = f.local("i32");
  const k = f.local("i32");
  const rowBytes = f.local("i32");
  const base = f.local("i32");
  f.get(c).i32(4).i32Mul().set(rowBytes);
  f.forRange(row, 0, rows, 1, () => {
    f.get(row).get(rowBytes).i32Mul().set(base);
    f.forRange(k, 0, rowBytes, 16, () => {
      f.get(out).get(base).i32Add().get(k).i32Add();
      f.get(x).get(base).i32Add().get(k).i32Add().v128Load();
      f.get(bias).get(k).i32Add().v128Load().f32x4Add().v128Store();
    });
  });
  return f;
}

/** relu(x, out, n4): out = max(x, 0) with NaN kept and −0 → +0 (as `Math.max(0, x)` on cpu). */
function relu(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32"]);
  const [x, out, n4] = f.params;
  const off = f.local("i32");
  const end = f.local("i32");
  const xv = f.local("v128");
  f.get(n4).i32(4).i32Mul().set(end);
  f.forRange(off, 0, end, 16, () => {
    f.get(x).get(off).i32Add().v128Load().set(xv);
    f.get(out).get(off).i32Add();
    f.get(xv).v128Zero().f32x4Max().v128Store();
  });
  return f;
}

/** The module's bytes (no shape constants: one per memory). */
export function elementwiseModule(): Uint8Array<ArrayBuffer> {
  return encodeModule([
    { name: "reluGrad", fn: reluGrad() },
    { name: "biasAdd", fn: biasAdd() },
    { name: "relu", fn: relu() },
  ]);
}
