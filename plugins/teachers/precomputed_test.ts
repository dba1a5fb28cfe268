import assert from "node:assert/strict";
import type { Dataset } from "../../src/api.ts";
import { KtError, OptionError } from "../../src/errors.ts";
import { encodeNpy } from "../../src/io/npy.ts";
import precomputed from "./precomputed.ts";

const ctx = { cacheDir: "", seed: 0, log: () => {} };

function dataset(size: number): Dataset {
  return {
    name: "tiny/train",
    x: new Float32Array(size * 4),
    y: new Int32Array(size),
    shape: [2, 2, 1],
    size,
    numClasses: 2,
  };
}

async function withFile(bytes: Uint8Array, name: string, body: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/${name}`;
    await Deno.writeFile(path, bytes);
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("precomputed teacher reads .npy rows in dataset order", async () => {
  const rows = new Float32Array([1, 2, 3, 4, 5, 6]);
  await withFile(encodeNpy(rows, [3, 2]), "f.npy", async (file) => {
    const options = precomputed.options.parse({ file });
    const { features } = await precomputed.extract(options, dataset(3), ctx);
    assert.equal(features.dim, 2);
    assert.equal(features.size, 3);
    assert.deepEqual([...features.values], [1, 2, 3, 4, 5, 6]);
  });
});

Deno.test("precomputed teacher reads raw little-endian float32 with dim", async () => {
  const bytes = new Uint8Array(new Float32Array([0.5, -1, 2, 8]).buffer); // this machine: LE
  await withFile(bytes, "f.bin", async (file) => {
    const options = precomputed.options.parse({ file, dim: 2 });
    const { features } = await precomputed.extract(options, dataset(2), ctx);
    assert.deepEqual([...features.values], [0.5, -1, 2, 8]);
    assert.equal(features.dim, 2);
  });
});

Deno.test("precomputed teacher says clearly when rows and samples differ", async () => {
  await withFile(encodeNpy(new Float32Array(6), [3, 2]), "f.npy", async (file) => {
    const options = precomputed.options.parse({ file });
    await assert.rejects(
      () => precomputed.extract(options, dataset(4), ctx),
      (e: unknown) =>
        e instanceof KtError && /3 rows/.test(e.message) && /4 samples/.test(e.message),
    );
  });
});

Deno.test("precomputed teacher needs dim for raw files and whole rows", async () => {
  await withFile(new Uint8Array(12), "f.bin", async (file) => {
    await assert.rejects(
      () => precomputed.extract(precomputed.options.parse({ file }), dataset(3), ctx),
      KtError,
    );
    await assert.rejects(
      () => precomputed.extract(precomputed.options.parse({ file, dim: 2 }), dataset(3), ctx),
      KtError,
    );
  });
});

Deno.test("precomputed teacher reads logits beside the features, one value per class", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.npy`, encodeNpy(new Float32Array([1, 2, 3]), [3, 1]));
    await Deno.writeFile(
      `${dir}/z.npy`,
      encodeNpy(new Float32Array([9, -9, 0.5, 0, 7, 8]), [3, 2]),
    );
    const options = precomputed.options.parse({ file: `${dir}/f.npy`, logits: `${dir}/z.npy` });
    const { features, logits } = await precomputed.extract(options, dataset(3), ctx);
    assert.deepEqual([...features.values], [1, 2, 3]);
    assert.ok(logits);
    assert.equal(logits.dim, 2);
    assert.equal(logits.size, 3);
    assert.deepEqual([...logits.values], [9, -9, 0.5, 0, 7, 8]);
    // Raw float32 logits take their row width from the dataset's classes.
    await Deno.writeFile(
      `${dir}/z.bin`,
      new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer),
    );
    const raw = await precomputed.extract(
      precomputed.options.parse({ file: `${dir}/f.npy`, logits: `${dir}/z.bin` }),
      dataset(3),
      ctx,
    );
    assert.deepEqual([...raw.logits!.values], [1, 2, 3, 4, 5, 6]);
    // Without the option there are none.
    const plain = await precomputed.extract(
      precomputed.options.parse({ file: `${dir}/f.npy` }),
      dataset(3),
      ctx,
    );
    assert.equal(plain.logits, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("precomputed logits of the wrong width, row count or with NaN are refused, naming the option", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.npy`, encodeNpy(new Float32Array([1, 2, 3]), [3, 1]));
    const bad = async (values: number[], shape: number[], pattern: RegExp) => {
      await Deno.writeFile(`${dir}/z.npy`, encodeNpy(new Float32Array(values), shape));
      const options = precomputed.options.parse({ file: `${dir}/f.npy`, logits: `${dir}/z.npy` });
      await assert.rejects(
        () => precomputed.extract(options, dataset(3), ctx),
        (e: unknown) => e instanceof KtError && pattern.test(e.message),
      );
    };
    await bad([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3], /3 values per row.*2 classes/);
    await bad([1, 2, 3, 4], [2, 2], /logits hold 2 rows.*3 samples/);
    await bad([1, 2, NaN, 4, 5, 6], [3, 2], /row 1 of the precomputed logits is not finite/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("precomputed logits are checked at plan time: missing, row count, raw size, dtype", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.npy`, encodeNpy(new Float32Array([1, 2, 3]), [3, 1]));
    const describe = (logits: string) =>
      precomputed.describe!(precomputed.options.parse({ file: `${dir}/f.npy`, logits }), ctx);
    const refused = async (logits: string, pattern: RegExp) =>
      await assert.rejects(
        () => describe(logits),
        (e: unknown) =>
          e instanceof OptionError && e.option === "logits" && pattern.test(e.message),
      );
    await refused(`${dir}/missing.npy`, /not found/);
    await Deno.writeFile(`${dir}/z.npy`, encodeNpy(new Float32Array(4), [2, 2]));
    await refused(`${dir}/z.npy`, /logits hold 2 rows but the features \(option file\) 3/);
    // Raw: 3 rows of 2 classes = 24 bytes; 20 bytes do not split into 3 rows.
    await Deno.writeFile(`${dir}/z.bin`, new Uint8Array(20));
    await refused(`${dir}/z.bin`, /does not split into 3 rows/);
    // An int32 array: the float32 encoding with its dtype in the header replaced (same length).
    const ints = encodeNpy(new Float32Array(6), [3, 2]);
    const header = new TextDecoder("latin1").decode(ints.subarray(0, 64));
    ints.set(new TextEncoder().encode("<i4"), header.indexOf("<f4"));
    await Deno.writeFile(`${dir}/i.npy`, ints);
    await refused(`${dir}/i.npy`, /precomputed logits must be float32 or float64, got int32/);
    // Well-formed files pass and the shape is the features'.
    await Deno.writeFile(`${dir}/z.bin`, new Uint8Array(24));
    assert.deepEqual(await describe(`${dir}/z.bin`), { features: { size: 3, dim: 1 } });
    await Deno.writeFile(`${dir}/z.npy`, encodeNpy(new Float32Array(6), [3, 2]));
    assert.deepEqual(await describe(`${dir}/z.npy`), { features: { size: 3, dim: 1 } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
