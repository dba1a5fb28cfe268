/**
 * Generated SIMD kernel for a 2-D convolution's forward pass (NHWC, any strides, dilations and
 * padding; output channels a multiple of 4):
 * out[n,y,x,o] = Σ_{a,b,i} x[n, y·sh + a·dh − top, x·sw + b·dw − left, i] · W[a,b,i,o].
 * Each image is first copied into a zero-bordered scratch image (so padding costs no branches);
 * then every tile of `pixels` output pixels × `vecs`·4 output channels is one straight-line
 * block over all (a, b) and a chunk of up to 16 input channels (a loop runs over the chunks), with
 * every address a constant offset and relaxed-SIMD multiply-adds.
 * @module
 */
import { encodeModule, FunctionBuilder, type Local } from "./encode.ts";
import { relaxedSimdSupported } from "./runtime.ts";
import { type ConvGeometry, largestDivisorAtMost } from "./geometry.ts";

/** The geometry a generated forward-conv kernel is specialised to (strides and dilations set). */
export type ConvShape = Required<ConvGeometry>;

/** The largest filter (fh·fw·ci) this kernel is used for. */
export const MAX_UNROLLED = 4608;

/** Whether {@linkcode convForwardModule} handles `s`. */
export function convForwardSupported(s: ConvShape): boolean {
  return s.co % 4 === 0 && s.co > 0 && s.fh * s.fw * s.ci <= MAX_UNROLLED && s.ho * s.wo > 0;
}

/** Rows and columns of the zero-bordered scratch image. */
export function scratchSize(s: ConvShape): { rows: number; cols: number } {
  return {
    rows: Math.max(s.top + s.h, (s.ho - 1) * s.sh + (s.fh - 1) * s.dh + 1),
    cols: Math.max(s.left + s.w, (s.wo - 1) * s.sw + (s.fw - 1) * s.dw + 1),
  };
}

/**
 * The module's bytes: export `run(x, w, out, n, scratch, bias)` with byte offsets, the batch size,
 * a scratch area of `scratchSize(s).rows · cols · ci` floats (its borders are zeroed here) and,
 * with `epilogue.bias`, a [co] bias added to every output (`bias` ignored otherwise); with
 * `epilogue.relu`, outputs are max(·, 0) (after the bias).
 */
export function convForwardModule(
  s: ConvShape,
  epilogue: { bias?: boolean; relu?: boolean } = {},
  fma = relaxedSimdSupported(),
): Uint8Array<ArrayBuffer> {
  const { h, w, ci, ho, wo, co, fh, fw, top, left, sh, sw, dh, dw } = s;
  const { rows, cols } = scratchSize(s);
  const vecs = co % 16 === 0 ? 4 : co % 12 === 0 ? 3 : co % 8 === 0 ? 2 : 1;
  const pixels = vecs >= 3 ? 2 : 4;
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32"]);
  const [px, pw, pout, pn, pscr, pbias] = f.params;
  const img = f.local("i32");
  const r = f.local("i32");
  const y = f.local("i32");
  const xb = f.local("i32");
  const ob = f.local("i32");
  const src = f.local("i32"); // scratch pixel (y·sh, xb·sw) of the tile
  const wBase = f.local("i32");
  const dst = f.local("i32");
  const acc: Local[][] = Array.from(
    { length: pixels },
    () => Array.from({ length: vecs }, () => f.local("v128")),
  );
  const wv: Local[] = Array.from({ length: vecs }, () => f.local("v128"));
  const sx = f.local("v128");
  const imgBytes = h * w * ci * 4;
  const rowBytes = w * ci * 4;
  const scrRow = cols * ci * 4;

  // Zero the whole scratch once; images only ever overwrite its interior.
  f.get(pscr).i32(0).i32(rows * scrRow).memoryFill();

  // Input channels per unrolled chunk; more channels loop over chunks (keeps the code in cache).
  const chunk = ci <= 16 ? ci : largestDivisorAtMost(ci, 8);
  const ic = f.local("i32");
  const srcI = f.local("i32");
  const wI = f.local("i32");

  /** A tile of `p` pixels: acc = Σ x·W over (a, b, i), then stored at dst. */
  const tile = (p: number) => {
    for (let k = 0; k < p; k++) {
      for (let v = 0; v < vecs; v++) {
        if (epilogue.bias) f.get(pbias).get(ob).i32Add().v128Load(16 * v);
        else f.v128Zero();
        f.set(acc[k][v]);
      }
    }
    const body = () => {
      for (let a = 0; a < fh; a++) {
        for (let b = 0; b < fw; b++) {
          for (let i = 0; i < chunk; i++) {
            const wOff = ((a * fw + b) * ci + i) * co * 4;
            for (let v = 0; v < vecs; v++) f.get(wI).v128Load(wOff + 16 * v).set(wv[v]);
            for (let k = 0; k < p; k++) {
              const xOff = (a * dh * cols + b * dw + k * sw) * ci * 4 + i * 4;
              f.get(srcI).v128Load32Splat(xOff).set(sx);
              for (let v = 0; v < vecs; v++) {
                if (fma) f.get(sx).get(wv[v]).get(acc[k][v]).f32x4RelaxedMadd();
                else f.get(acc[k][v]).get(sx).get(wv[v]).f32x4Mul().f32x4Add();
                f.set(acc[k][v]);
              }
            }
          }
        }
      }
    };
    f.forRange(ic, 0, ci, chunk, () => {
      f.get(src).get(ic).i32(4).i32Mul().i32Add().set(srcI);
      f.get(wBase).get(ic).i32(co * 4).i32Mul().i32Add().set(wI);
      body();
    });
    for (let k = 0; k < p; k++) {
      for (let v = 0; v < vecs; v++) {
        f.get(dst).get(acc[k][v]);
        if (epilogue.relu) f.v128Zero().f32x4Max();
        f.v128Store(k * co * 4 + 16 * v);
      }
    }
  };

  f.forRange(img, 0, pn, 1, () => {
    // Copy image img's rows into the scratch interior at (top, left).
    f.forRange(r, 0, h, 1, () => {
      f.get(pscr).get(r).i32(scrRow).i32Mul().i32Add().i32(top * scrRow + left * ci * 4).i32Add();
      f.get(px).get(img).i32(imgBytes).i32Mul().i32Add().get(r).i32(rowBytes).i32Mul().i32Add();
      f.i32(rowBytes).memoryCopy();
    });
    const full = Math.floor(wo / pixels) * pixels;
    f.forRange(y, 0, ho, 1, () => {
      f.forRange(ob, 0, co * 4, vecs * 16, () => {
        f.get(pw).get(ob).i32Add().set(wBase);
        const run = (from: number, to: number, p: number) => {
          if (from >= to) return;
          f.forRange(xb, from, to, p, () => {
            // src = scratch + (y·sh·cols + xb·sw)·ci·4
            f.get(pscr).get(y).i32(sh * scrRow).i32Mul().i32Add();
            f.get(xb).i32(sw * ci * 4).i32Mul().i32Add().set(src);
            // dst = out + (((img·ho + y)·wo + xb)·co)·4 + ob
            f.get(pout).get(img).i32(ho * wo * co * 4).i32Mul().i32Add();
            f.get(y).i32(wo * co * 4).i32Mul().i32Add();
            f.get(xb).i32(co * 4).i32Mul().i32Add().get(ob).i32Add().set(dst);
            tile(p);
          });
        };
        run(0, full, pixels);
        run(full, wo, 1);
      });
    });
  });
  return encodeModule([{ name: "run", fn: f }]);
}
