/**
 * Generated SIMD kernels for a 2×2, stride-2, unpadded max-pool and its gradient (NHWC, channels a
 * multiple of 4): every window's first maximum in row-major order (strict `>` against the best so
 * far, starting from -∞, so NaN never wins) receives the window's gradient, the other three
 * entries get 0 — the cpu backend's rule, with the comparisons done four channels at a time as
 * lane masks.
 * @module
 */
import { encodeModule, FunctionBuilder } from "./encode.ts";

/** The geometry a generated max-pool gradient kernel is specialised to. */
export interface PoolGradShape {
  h: number;
  w: number;
  c: number;
  ho: number;
  wo: number;
}

/** Whether {@linkcode poolGradModule} handles this shape. */
export function poolGradSupported(s: PoolGradShape): boolean {
  return s.c % 4 === 0 && s.c > 0 && 2 * s.ho <= s.h && 2 * s.wo <= s.w && s.ho * s.wo > 0;
}

/**
 * The module's bytes: export `run(x, dy, dx, n)` with byte offsets and the batch size. Entries of
 * dx in no window (odd trailing rows/columns) are left untouched; the caller zeroes them.
 */
export function poolGradModule(s: PoolGradShape): Uint8Array<ArrayBuffer> {
  const { h, w, c, ho, wo } = s;
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32"]);
  const [px, pdy, pdx, pn] = f.params;
  const n = f.local("i32");
  const i = f.local("i32");
  const j = f.local("i32");
  const k = f.local("i32");
  const xp = f.local("i32");
  const dxp = f.local("i32");
  const dyp = f.local("i32");
  const [a, b, d, e, g, best, neg, m, w0, w1, w2] = Array.from(
    { length: 11 },
    () => f.local("v128"),
  );
  const row = w * c * 4; // bytes per input row
  const right = c * 4; // bytes to the next column
  f.f32(-Infinity).f32x4Splat().set(neg);
  f.get(pdy).set(dyp);
  f.forRange(n, 0, pn, 1, () => {
    f.forRange(i, 0, ho, 1, () => {
      // xp = x + (n·h + 2i)·row
      f.get(n).i32(h * row).i32Mul().get(i).i32(2 * row).i32Mul().i32Add().tee(xp);
      f.get(pdx).i32Add().set(dxp);
      f.get(xp).get(px).i32Add().set(xp);
      f.forRange(j, 0, wo, 1, () => {
        f.forRange(k, 0, c * 4, 16, () => {
          const load = (dst: typeof a, offset: number) =>
            f.get(xp).get(k).i32Add().v128Load(offset).set(dst);
          load(a, 0);
          load(b, right);
          load(d, row);
          load(e, row + right);
          f.get(dyp).v128Load().set(g);
          // Window entry 0 leads if a > -∞.
          f.get(a).get(neg).f32x4Gt().set(w0);
          f.get(a).get(neg).get(w0).v128Bitselect().set(best);
          // Entry 1 takes over where b > best.
          f.get(b).get(best).f32x4Gt().set(m);
          f.get(b).get(best).get(m).v128Bitselect().set(best);
          f.get(w0).get(m).v128AndNot().set(w0);
          f.get(m).set(w1);
          // Entry 2.
          f.get(d).get(best).f32x4Gt().set(m);
          f.get(d).get(best).get(m).v128Bitselect().set(best);
          f.get(w0).get(m).v128AndNot().set(w0);
          f.get(w1).get(m).v128AndNot().set(w1);
          f.get(m).set(w2);
          // Entry 3 wins where e > best.
          f.get(e).get(best).f32x4Gt().set(m);
          const store = (mask: () => void, offset: number) => {
            f.get(dxp).get(k).i32Add().get(g);
            mask();
            f.v128And().v128Store(offset);
          };
          store(() => f.get(w0).get(m).v128AndNot(), 0);
          store(() => f.get(w1).get(m).v128AndNot(), right);
          store(() => f.get(w2).get(m).v128AndNot(), row);
          store(() => f.get(m), row + right);
          f.addTo(dyp, 16);
        });
        f.addTo(xp, 2 * right);
        f.addTo(dxp, 2 * right);
      });
    });
  });
  return encodeModule([{ name: "run", fn: f }, { name: "forward", fn: poolForward(s) }]);
}

/**
 * `forward(x, out, n)`: the 2×2/2 max-pool itself, with the same rule (first strict maximum from
 * −∞; a window of only NaN or −∞ gives −∞, as the cpu backend).
 */
function poolForward(s: PoolGradShape): FunctionBuilder {
  const { h, w, c, ho, wo } = s;
  const f = new FunctionBuilder(["i32", "i32", "i32"]);
  const [px, pout, pn] = f.params;
  const n = f.local("i32");
  const i = f.local("i32");
  const j = f.local("i32");
  const k = f.local("i32");
  const xp = f.local("i32");
  const op = f.local("i32");
  const [v, best, m] = [f.local("v128"), f.local("v128"), f.local("v128")];
  const row = w * c * 4;
  const right = c * 4;
  f.get(pout).set(op);
  f.forRange(n, 0, pn, 1, () => {
    f.forRange(i, 0, ho, 1, () => {
      f.get(n).i32(h * row).i32Mul().get(i).i32(2 * row).i32Mul().i32Add().get(px).i32Add();
      f.set(xp);
      f.forRange(j, 0, wo, 1, () => {
        f.forRange(k, 0, c * 4, 16, () => {
          f.f32(-Infinity).f32x4Splat().set(best);
          for (const offset of [0, right, row, row + right]) {
            f.get(xp).get(k).i32Add().v128Load(offset).set(v);
            f.get(v).get(best).f32x4Gt().set(m);
            f.get(v).get(best).get(m).v128Bitselect().set(best);
          }
          f.get(op).get(best).v128Store();
          f.addTo(op, 16);
        });
        f.addTo(xp, 2 * right);
      });
    });
  });
  return f;
}
