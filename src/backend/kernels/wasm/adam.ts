/**
 * Generated SIMD kernel for one Adam step over a variable, in exactly the float32 operations and
 * order of tfjs's `AdamOptimizer` (so results are bit-identical to it):
 *
 *     m' = m·β1 + g·(1−β1);  v' = v·β2 + (g·g)·(1−β2)
 *     value' = (m'/a1) / (√(v'/a2) + ε) · (−lr) + value      (a1 = 1−β1^t, a2 = 1−β2^t)
 *
 * Export `run(value, m, v, g, outValue, outM, outV, n4, β1, 1−β1, β2, 1−β2, a1, a2, ε, −lr)`
 * handles the first `n4` (a multiple of 4) entries; the caller does the rest.
 * @module
 */
import { encodeModule, FunctionBuilder } from "./encode.ts";

/** The module's bytes (one per memory; it has no shape constants). */
export function adamModule(): Uint8Array<ArrayBuffer> {
  const f = new FunctionBuilder([
    ...Array.from({ length: 8 }, () => "i32" as const),
    ...Array.from({ length: 8 }, () => "f32" as const),
  ]);
  const [value, m, v, g, outValue, outM, outV, n4, ...scalars] = f.params;
  const splats = scalars.map((s) => {
    const l = f.local("v128");
    f.get(s).f32x4Splat().set(l);
    return l;
  });
  const [b1, omb1, b2, omb2, a1, a2, eps, negLr] = splats;
  const off = f.local("i32");
  const gv = f.local("v128");
  const nm = f.local("v128");
  const nv = f.local("v128");
  const end = f.local("i32");
  f.get(n4).i32(4).i32Mul().set(end);
  const at = (base: typeof off) => f.get(base).get(off).i32Add();
  f.forRange(off, 0, end, 16, () => {
    at(g).v128Load().set(gv);
    // m' = m·β1 + g·(1−β1)
    at(m).v128Load().get(b1).f32x4Mul().get(gv).get(omb1).f32x4Mul().f32x4Add().set(nm);
    // v' = v·β2 + (g·g)·(1−β2)
    at(v).v128Load().get(b2).f32x4Mul();
    f.get(gv).get(gv).f32x4Mul().get(omb2).f32x4Mul().f32x4Add().set(nv);
    at(outM).get(nm).v128Store();
    at(outV).get(nv).v128Store();
    // value' = (m'/a1) / (√(v'/a2) + ε) · (−lr) + value
    at(outValue);
    f.get(nm).get(a1).f32x4Div();
    f.get(nv).get(a2).f32x4Div().f32x4Sqrt().get(eps).f32x4Add().f32x4Div();
    f.get(negLr).f32x4Mul();
    at(value).v128Load().f32x4Add().v128Store();
  });
  return encodeModule([{ name: "run", fn: f }]);
}
