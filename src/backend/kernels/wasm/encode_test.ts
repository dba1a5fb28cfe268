import assert from "node:assert/strict";
import { encodeModule, FunctionBuilder } from "./encode.ts";

Deno.test("encodeModule() builds a module whose loops and SIMD ops compute on the imported memory", () => {
  // sum(n): Σ_{i<n} i·3 by a counted loop; scale(p, n, s): p[0..n) *= s with f32x4 ops.
  const sum = new FunctionBuilder(["i32"]);
  const i = sum.local("i32");
  const acc = sum.local("i32");
  sum.forRange(i, 0, sum.params[0], 1, () => {
    sum.get(acc).get(i).i32(3).i32Mul().i32Add().set(acc);
  });
  sum.get(acc);
  const scale = new FunctionBuilder(["i32", "i32", "f32"]);
  const [p, n, s] = scale.params;
  const k = scale.local("i32");
  scale.forRange(k, 0, n, 4, () => {
    scale.get(p).get(k).i32(4).i32Mul().i32Add();
    scale.get(p).get(k).i32(4).i32Mul().i32Add().v128Load();
    scale.get(s).f32x4Splat().f32x4Mul().v128Store();
  });
  const bytes = encodeModule([
    { name: "sum", fn: sum, results: ["i32"] },
    { name: "scale", fn: scale },
  ]);
  assert.ok(WebAssembly.validate(bytes));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as { sum(n: number): number; scale(p: number, n: number, s: number): void };
  assert.equal(ex.sum(0), 0);
  assert.equal(ex.sum(10), 3 * 45);
  const view = new Float32Array(memory.buffer, 64, 8);
  view.set([1, 2, 3, 4, 5, 6, 7, 8]);
  ex.scale(64, 8, 0.5);
  assert.deepEqual([...view], [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
});

Deno.test("filterGradModule() with and without relaxed multiply-adds agree on a hand-sized case", async () => {
  const { filterGradModule } = await import("./filter_grad.ts");
  const shape = { h: 3, w: 3, ci: 1, ho: 3, wo: 3, co: 4, fh: 3, fw: 3, top: 1, left: 1 };
  const memory = new WebAssembly.Memory({ initial: 1 });
  const heap = new Float32Array(memory.buffer);
  // x = 1..9 at 0, dy = all ones over 4 channels at 64 floats.
  heap.set(Array.from({ length: 9 }, (_, i) => i + 1), 0);
  heap.fill(1, 64, 64 + 36);
  const results = [true, false].map((fma) => {
    const run = new WebAssembly.Instance(new WebAssembly.Module(filterGradModule(shape, fma)), {
      env: { memory },
    }).exports.run as (x: number, dy: number, dw: number, n: number) => void;
    run(0, 256, 1024, 1);
    return Array.from(heap.subarray(256, 256 + 36));
  });
  // dW[a,b,0,o] = Σ of the x values the offset (a-1, b-1) sees: centre 45, corners 12..28.
  const expected = [12, 21, 16, 27, 45, 33, 24, 39, 28].flatMap((v) => [v, v, v, v]);
  assert.deepEqual(results[0], expected);
  assert.deepEqual(results[1], expected);
});
