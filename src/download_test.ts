import assert from "node:assert/strict";
import { fileChecksums, gunzip } from "./download.ts";
import { gzipBytes } from "../tests/fixtures/datasets.ts";

Deno.test('fileChecksums() gives the published md5 and sha256 of "abc"', async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "abc");
    assert.deepEqual(await fileChecksums(path), {
      md5: "900150983cd24fb0d6963f7d28e17f72",
      sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    });
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("gunzip() inverts gzip", async () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);
  const gz = await gzipBytes(data);
  const back = new Uint8Array(
    await new Response(gunzip(new Blob([gz as Uint8Array<ArrayBuffer>]).stream())).arrayBuffer(),
  );
  assert.deepEqual(back, data);
});
