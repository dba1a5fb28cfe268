/**
 * Generated SIMD kernels for batch normalisation in training over the channel (last) axis of a
 * [rows, C] view of the input (C a multiple of 4), with float64 accumulators:
 *
 * - `moments(x, out, rows)`: out = float64 [Σ x (C), Σ x² (C)];
 * - `sums(dy, x, mean, out, rows)`: out = float64 [Σ dy (C), Σ dy·(x − mean) (C)];
 * - `affine(x, coef, y, rows)`: y = (x − m)·a + b with coef = [m(C), a(C), b(C)];
 * - `affine2(dy, x, coef, dx, rows)`: dx = dy·a + (x − m)·b + c with coef = [m, a, b, c].
 *
 * Reductions run over tiles of 8 channels (four float64 pairs per sum) down the given rows; the
 * caller splits rows into parts (threads) and adds the parts' float64 sums in a fixed order.
 * @module
 */
import { encodeModule, FunctionBuilder, type Local } from "./encode.ts";

/** Whether {@linkcode batchNormModule} handles `channels`. */
export function batchNormSupported(channels: number): boolean {
  return channels > 0 && channels % 4 === 0;
}

/** Channel tiles [first channel, vectors] covering C: tiles of 8, a last tile of 4 if needed. */
function tiles(c: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let col = 0; col < c; col += 8) out.push([col, Math.min(8, c - col) / 4]);
  return out;
}

/**
 * One reduction function: for each tile, `perRow(vectors, accs)` adds a row's terms into float64
 * pair accumulators, then `finish` writes the results for channel `ch` from the two sums.
 */
function reduction(
  c: number,
  params: number,
  body: (
    f: FunctionBuilder,
    row: Local,
    col: number,
    vecs: number,
    accs: Local[][],
  ) => void,
  finish: (f: FunctionBuilder, ch: number, sums: Local[]) => void,
): FunctionBuilder {
  const f = new FunctionBuilder(Array.from({ length: params }, () => "i32" as const));
  const rows = f.params[params - 1];
  const row = f.local("i32");
  const sums = [f.local("f64"), f.local("f64")];
  const accs: Local[][] = [0, 1].map(() => Array.from({ length: 4 }, () => f.local("v128")));
  for (const [col, vecs] of tiles(c)) {
    for (const list of accs) for (let a = 0; a < 2 * vecs; a++) f.v128Zero().set(list[a]);
    f.forRange(row, 0, rows, 1, () => body(f, row, col, vecs, accs));
    for (let k = 0; k < 2 * vecs; k++) {
      for (let lane = 0; lane < 2; lane++) {
        f.get(accs[0][k]).f64x2ExtractLane(lane).set(sums[0]);
        f.get(accs[1][k]).f64x2ExtractLane(lane).set(sums[1]);
        finish(f, col + 2 * k + lane, sums);
      }
    }
  }
  return f;
}

/** Adds both halves of f32x4 `v` (on no stack: a local) into accumulators acc[2k], acc[2k+1]. */
function accumulate(f: FunctionBuilder, v: Local, acc: Local[], k: number): void {
  f.get(acc[2 * k]).get(v).f64x2PromoteLowF32x4().f64x2Add().set(acc[2 * k]);
  f.get(acc[2 * k + 1]).f64x2PromoteHighOf(v);
  f.f64x2Add().set(acc[2 * k + 1]);
}

/** Adds the squares (in float64) of both halves of `v` into acc[2k], acc[2k+1]. */
function accumulateSquares(f: FunctionBuilder, v: Local, acc: Local[], k: number, t: Local): void {
  f.get(v).f64x2PromoteLowF32x4().tee(t).get(t).f64x2Mul().get(acc[2 * k]).f64x2Add();
  f.set(acc[2 * k]);
  f.f64x2PromoteHighOf(v).tee(t).get(t).f64x2Mul();
  f.get(acc[2 * k + 1]).f64x2Add().set(acc[2 * k + 1]);
}

/** An elementwise pass over rows × C: `body(f, offset)` handles the vector at byte `offset`. */
function elementwise(
  params: number,
  c: number,
  body: (f: FunctionBuilder, rowOffset: Local, k: Local) => void,
): FunctionBuilder {
  const f = new FunctionBuilder(Array.from({ length: params }, () => "i32" as const));
  const rows = f.params[params - 1];
  const off = f.local("i32");
  const k = f.local("i32");
  const end = f.local("i32");
  f.get(rows).i32(c * 4).i32Mul().set(end);
  f.forRange(off, 0, end, c * 4, () => {
    f.forRange(k, 0, c * 4, 16, () => body(f, off, k));
  });
  return f;
}

/** The module for `c` channels (see the module documentation for its four exports). */
export function batchNormModule(c: number): Uint8Array<ArrayBuffer> {
  const rowBytes = c * 4;
  // moments(x, out, rows)
  let t: Local;
  const moments = reduction(c, 3, (f, row, col, vecs, accs) => {
    const v = f.local("v128");
    t ??= f.local("v128");
    for (let k = 0; k < vecs; k++) {
      f.get(f.params[0]).get(row).i32(rowBytes).i32Mul().i32Add().v128Load((col + 4 * k) * 4);
      f.set(v);
      accumulate(f, v, accs[0], k);
      accumulateSquares(f, v, accs[1], k, t);
    }
  }, (f, ch, [s, q]) => {
    f.get(f.params[1]).get(s).f64Store(ch * 8);
    f.get(f.params[1]).get(q).f64Store((c + ch) * 8);
  });
  // sums(dy, x, mean, out, rows)
  const sums = reduction(c, 5, (f, row, col, vecs, accs) => {
    const d = f.local("v128");
    const p = f.local("v128");
    for (let k = 0; k < vecs; k++) {
      const at = (param: Local) =>
        f.get(param).get(row).i32(rowBytes).i32Mul().i32Add().v128Load((col + 4 * k) * 4);
      at(f.params[0]);
      f.set(d);
      accumulate(f, d, accs[0], k);
      at(f.params[1]);
      f.get(f.params[2]).v128Load((col + 4 * k) * 4).f32x4Sub().get(d).f32x4Mul().set(p);
      accumulate(f, p, accs[1], k);
    }
  }, (f, ch, [a, b]) => {
    f.get(f.params[3]).get(a).f64Store(ch * 8);
    f.get(f.params[3]).get(b).f64Store((c + ch) * 8);
  });
  // affine(x, coef, y, rows): y = (x − m)·a + b
  const affine = elementwise(4, c, (f, off, k) => {
    const [x, coef, y] = f.params;
    f.get(y).get(off).i32Add().get(k).i32Add();
    f.get(x).get(off).i32Add().get(k).i32Add().v128Load();
    f.get(coef).get(k).i32Add().v128Load().f32x4Sub();
    f.get(coef).get(k).i32Add().v128Load(rowBytes).f32x4Mul();
    f.get(coef).get(k).i32Add().v128Load(2 * rowBytes).f32x4Add().v128Store();
  });
  // affine2(dy, x, coef, dx, rows): dx = dy·a + (x − m)·b + c
  const affine2 = elementwise(5, c, (f, off, k) => {
    const [dy, x, coef, dx] = f.params;
    f.get(dx).get(off).i32Add().get(k).i32Add();
    f.get(dy).get(off).i32Add().get(k).i32Add().v128Load();
    f.get(coef).get(k).i32Add().v128Load(rowBytes).f32x4Mul();
    f.get(x).get(off).i32Add().get(k).i32Add().v128Load();
    f.get(coef).get(k).i32Add().v128Load().f32x4Sub();
    f.get(coef).get(k).i32Add().v128Load(2 * rowBytes).f32x4Mul().f32x4Add();
    f.get(coef).get(k).i32Add().v128Load(3 * rowBytes).f32x4Add().v128Store();
  });
  return encodeModule([
    { name: "moments", fn: moments },
    { name: "sums", fn: sums },
    { name: "affine", fn: affine },
    { name: "affine2", fn: affine2 },
  ]);
}
