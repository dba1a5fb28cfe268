/**
 * Generated SIMD kernel summing the rows of a [rows, inner] float32 matrix (a reduction over the
 * leading axes, e.g. a bias gradient [N, H, W, C] → [C]) with float64 accumulators, as kt's JS
 * version did: out[j] = Σ_r x[r, j] as float64 (the caller adds parts and divides for a mean).
 * @module
 */
import { encodeModule, FunctionBuilder, type Local } from "./encode.ts";

/** Whether {@linkcode sumRowsModule} handles rows of `inner` values. */
export function sumRowsSupported(inner: number): boolean {
  return inner > 0 && inner % 4 === 0;
}

/**
 * The module's bytes: export `run(x, out, rows)` (byte offsets, row count; `out` gets `inner`
 * float64 sums). Columns go in tiles of 16, 8 or 4 accumulated over the rows.
 */
export function sumRowsModule(inner: number): Uint8Array<ArrayBuffer> {
  const f = new FunctionBuilder(["i32", "i32", "i32"]);
  const [px, pout, prows] = f.params;
  const p = f.local("i32");
  const end = f.local("i32");
  const v = f.local("v128");
  const accs: Local[] = Array.from({ length: 8 }, () => f.local("v128"));
  const rowBytes = inner * 4;
  // end = x + rows·rowBytes
  f.get(px).get(prows).i32(rowBytes).i32Mul().i32Add().set(end);
  let col = 0;
  for (const tile of [16, 8, 4]) {
    while (inner - col >= tile && (tile === 16 || inner - col < 2 * tile)) {
      const vecs = tile / 4;
      for (let a = 0; a < 2 * vecs; a++) f.v128Zero().set(accs[a]);
      f.get(px).i32(col * 4).i32Add().set(p);
      f.op(0x02, 0x40); // block: no rows → skip
      f.get(p).get(end).i32LtU().i32Eqz().op(0x0d, 0);
      f.op(0x03, 0x40); // loop over rows
      for (let k = 0; k < vecs; k++) {
        f.get(p).v128Load(16 * k).set(v);
        f.get(accs[2 * k]).get(v).f64x2PromoteLowF32x4().f64x2Add().set(accs[2 * k]);
        f.get(accs[2 * k + 1]).f64x2PromoteHighOf(v);
        f.f64x2Add().set(accs[2 * k + 1]);
      }
      f.addTo(p, rowBytes);
      f.get(p).get(end).i32LtU().op(0x0d, 0);
      f.op(0x0b, 0x0b);
      for (let k = 0; k < 2 * vecs; k++) {
        for (let lane = 0; lane < 2; lane++) {
          f.get(pout).get(accs[k]).f64x2ExtractLane(lane).f64Store((col + 2 * k + lane) * 8);
        }
      }
      col += tile;
    }
  }
  return encodeModule([{ name: "run", fn: f }]);
}
