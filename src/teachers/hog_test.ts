import assert from "node:assert/strict";
import { KtError } from "../errors.ts";
import { hogCellHistograms, hogFeatures, hogLayout } from "./hog.ts";

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol;

function assertHistogram(actual: Float32Array, expected: Record<number, number>, where: string) {
  actual.forEach((v, k) =>
    assert.ok(
      close(v, expected[k] ?? 0),
      `${where}: bin ${k} is ${v}, expected ${expected[k] ?? 0}`,
    )
  );
}

/** 8×8 single-channel image from f(y, x). */
function image8(f: (y: number, x: number) => number): Float32Array {
  return Float32Array.from({ length: 64 }, (_, i) => f(Math.floor(i / 8), i % 8));
}

Deno.test("hogCellHistograms() of a vertical edge puts 0° votes half in the first, half in the last bin", () => {
  // Columns 0–3 dark, 4–7 bright: gx = 1 in columns 3 and 4 (every row), gy = 0 everywhere.
  // Each 4×4 cell holds one such column: 4 pixels of magnitude 1 at θ = 0°, which lies halfway
  // between the centres of bin 8 (170° ≡ −10°) and bin 0 (10°): 2 into each.
  const layout = hogLayout([8, 8, 1], { cellSize: 4 });
  const cells = hogCellHistograms(image8((_y, x) => (x >= 4 ? 1 : 0)), [8, 8, 1], layout);
  for (let cell = 0; cell < 4; cell++) {
    assertHistogram(cells.subarray(cell * 9, (cell + 1) * 9), { 0: 2, 8: 2 }, `cell ${cell}`);
  }
});

Deno.test("hogCellHistograms() of a diagonal ramp matches hand-computed votes", () => {
  // I = x + y. Top-left 4×4 cell:
  //  (0,0): gx = gy = 0 (both borders) → no vote
  //  (0,1..3): gy = 0 (top border), gx = 2 → θ 0°: 1 into bin 0 and 1 into bin 8, three times
  //  (1..3,0): gx = 0 (left border), gy = 2 → θ 90° = centre of bin 4: 2, three times
  //  (1..3,1..3): gx = gy = 2 → magnitude 2√2 at 45°, between centres 30° (bin 1) and 50°
  //  (bin 2): 0.25 and 0.75 of it, nine times.
  const layout = hogLayout([8, 8, 1], { cellSize: 4 });
  const cells = hogCellHistograms(image8((y, x) => x + y), [8, 8, 1], layout);
  const m = 2 * Math.SQRT2;
  assertHistogram(
    cells.subarray(0, 9),
    { 0: 3, 8: 3, 4: 6, 1: 9 * 0.25 * m, 2: 9 * 0.75 * m },
    "top-left",
  );
});

Deno.test("hogCellHistograms() takes each pixel's strongest channel in a colour image", () => {
  // Channel 0: weak vertical edge (gx = 0.3 in columns 3, 4); channel 1: strong horizontal edge
  // (gy = 1 in rows 3, 4); channel 2: flat. Rows 3 and 4 vote 1 at 90° (bin 4), even where the
  // weak edge crosses; the rest of columns 3 and 4 vote 0.3 at 0° (0.15 into bins 0 and 8).
  // Every 4×4 cell: 4 pixels of the horizontal edge, 3 of the vertical one.
  const image = new Float32Array(8 * 8 * 3);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      image[(y * 8 + x) * 3] = x >= 4 ? 0.3 : 0;
      image[(y * 8 + x) * 3 + 1] = y >= 4 ? 1 : 0;
    }
  }
  const layout = hogLayout([8, 8, 3], { cellSize: 4 });
  const cells = hogCellHistograms(image, [8, 8, 3], layout);
  for (let cell = 0; cell < 4; cell++) {
    assertHistogram(
      cells.subarray(cell * 9, (cell + 1) * 9),
      { 0: 0.45, 4: 4, 8: 0.45 },
      `cell ${cell}`,
    );
  }
});

Deno.test("hogFeatures() normalises blocks with L2-Hys", () => {
  // Vertical edge: one 2×2-cell block with eight entries of 2 (see above). L2: 2/√32 ≈ 0.354,
  // clipped to 0.2, renormalised: 0.2/√(8·0.04) = 1/√8.
  const { values, dim } = hogFeatures(image8((_y, x) => (x >= 4 ? 1 : 0)), [8, 8, 1], {
    cellSize: 4,
  });
  assert.equal(dim, 36);
  const expected = new Map<number, number>();
  for (let cell = 0; cell < 4; cell++) {
    expected.set(cell * 9, 1 / Math.sqrt(8));
    expected.set(cell * 9 + 8, 1 / Math.sqrt(8));
  }
  values.forEach((v, k) => assert.ok(close(v, expected.get(k) ?? 0), `entry ${k}: ${v}`));
});

Deno.test("hogFeatures() of a constant image is all zeros, without NaN", () => {
  const images = new Float32Array(2 * 28 * 28).fill(0.7);
  const { values, dim } = hogFeatures(images, [28, 28, 1]);
  assert.equal(dim, 324); // cells of 7 px: 4×4 cells, 3×3 blocks of 2×2 cells, 9 bins
  assert.equal(values.length, 2 * 324);
  assert.ok(values.every((v) => v === 0));
});

Deno.test("hogFeatures() describes each image of a batch independently", () => {
  const edge = image8((_y, x) => (x >= 4 ? 1 : 0));
  const ramp = image8((y, x) => x + y);
  const batch = new Float32Array(128);
  batch.set(edge, 0);
  batch.set(ramp, 64);
  const both = hogFeatures(batch, [8, 8, 1], { cellSize: 4 });
  const alone = hogFeatures(ramp, [8, 8, 1], { cellSize: 4 });
  assert.deepEqual(both.values.subarray(36), alone.values);
  assert.ok(alone.values.every((v) => v >= 0 && v <= 1));
});

Deno.test("hogFeatures() signed orientations tell opposite gradients apart", () => {
  const rising = image8((_y, x) => (x >= 4 ? 1 : 0));
  const falling = image8((_y, x) => (x >= 4 ? 0 : 1));
  const unsigned = [rising, falling].map((im) => hogFeatures(im, [8, 8, 1], { cellSize: 4 }));
  assert.deepEqual(unsigned[0].values, unsigned[1].values);
  const signed = [rising, falling].map((im) =>
    hogCellHistograms(im, [8, 8, 1], hogLayout([8, 8, 1], { cellSize: 4, bins: 4, signed: true }))
  );
  // 4 bins of 90° (centres 45°, 135°, 225°, 315°): 0° splits between bins 3 and 0; 180°
  // between bins 1 and 2.
  assertHistogram(signed[0].subarray(0, 4), { 0: 2, 3: 2 }, "rising");
  assertHistogram(signed[1].subarray(0, 4), { 1: 2, 2: 2 }, "falling");
});

Deno.test("hogFeatures() rejects cells too large for one block and ragged input", () => {
  assert.throws(() => hogFeatures(new Float32Array(64), [8, 8, 1], { cellSize: 5 }), KtError);
  assert.throws(() => hogFeatures(new Float32Array(65), [8, 8, 1], { cellSize: 4 }), KtError);
  assert.throws(() => hogFeatures(new Float32Array(64), [8, 8, 1], { bins: 0 }), KtError);
});
