import assert from "node:assert/strict";
import { encodePng, galleryQueries, imageUri, isImageData, topK } from "./gallery.ts";
import type { Dataset } from "./data.ts";

Deno.test("galleryQueries() takes the first row of each class in class order, then the second", () => {
  const labels = new Int32Array([2, 0, 2, 1, 0, 1, 2]);
  assert.deepEqual(galleryQueries(labels, 3), [1, 3, 0]);
  assert.deepEqual(galleryQueries(labels, 5), [1, 3, 0, 4, 5]);
  assert.deepEqual(galleryQueries(labels, 100), [1, 3, 0, 4, 5, 2, 6]);
  assert.deepEqual(galleryQueries(new Int32Array(0), 8), []);
});

Deno.test("topK() ranks by cosine similarity, ties by row, zero rows last", () => {
  // Rows: (1,0) cos 1; (0,1) cos 0; (2,0) cos 1 (tie with row 0: row order); (0,0) no direction;
  // (1,1) cos 0.7071.
  const db = { values: new Float32Array([1, 0, 0, 1, 2, 0, 0, 0, 1, 1]), dim: 2, size: 5 };
  assert.deepEqual(topK(new Float32Array([3, 0]), db, 3), [0, 2, 4]);
  assert.deepEqual(topK(new Float32Array([3, 0]), db, 5), [0, 2, 4, 1, 3]);
  assert.deepEqual(topK(new Float32Array([0, -1]), db, 2), [0, 2]);
});

/** The chunks of a PNG: type, data, and whether the CRC matches. */
async function readPng(png: Uint8Array) {
  assert.deepEqual([...png.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset);
  const chunks: { type: string; data: Uint8Array<ArrayBuffer> }[] = [];
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.slice(at + 4, at + 8));
    chunks.push({ type, data: png.slice(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  const idat = new Uint8Array(chunks.find((c) => c.type === "IDAT")!.data);
  const raw = new Uint8Array(
    await new Response(new Blob([idat]).stream().pipeThrough(new DecompressionStream("deflate")))
      .arrayBuffer(),
  );
  return { chunks, raw };
}

Deno.test("encodePng() writes grey and RGB PNGs that inflate back to their rows", async () => {
  const grey = await readPng(await encodePng(3, 2, 1, new Uint8Array([0, 128, 255, 1, 2, 3])));
  assert.deepEqual(grey.chunks.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
  const ihdr = new DataView(grey.chunks[0].data.buffer);
  assert.deepEqual([ihdr.getUint32(0), ihdr.getUint32(4), ihdr.getUint8(8), ihdr.getUint8(9)], [
    3,
    2,
    8,
    0,
  ]);
  // Each row: filter byte 0, then the pixels.
  assert.deepEqual([...grey.raw], [0, 0, 128, 255, 0, 1, 2, 3]);
  const rgb = await readPng(await encodePng(1, 1, 3, new Uint8Array([10, 20, 30])));
  assert.equal(rgb.chunks[0].data[9], 2, "colour type RGB");
  assert.deepEqual([...rgb.raw], [0, 10, 20, 30]);
});

Deno.test("imageUri() scales an image min–max to 0–255 as a data URI", async () => {
  const data: Dataset = {
    name: "tiny",
    x: new Float32Array([/* image 0 */ 0, 0, 0, 0, /* image 1 */ -1, 0, 1, 3]),
    y: new Int32Array([0, 1]),
    shape: [2, 2, 1],
    size: 2,
    numClasses: 2,
  };
  const uri = await imageUri(data, 1);
  assert.match(uri, /^data:image\/png;base64,/);
  const png = Uint8Array.from(atob(uri.split(",")[1]), (c) => c.charCodeAt(0));
  const { raw } = await readPng(png);
  assert.deepEqual([...raw], [0, 0, 64, 0, 128, 255]);
  assert.equal(isImageData(data), false, "2×2 is too small to draw");
  assert.equal(isImageData({ shape: [28, 28, 1] }), true);
  assert.equal(isImageData({ shape: [1, 1, 64] }), false);
});
