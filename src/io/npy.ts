/**
 * Reader and writer for NumPy `.npy` files (format versions 1–3): little-endian `uint8`, `int32`,
 * `int64`, `float32` and `float64` arrays in C order. Teachers write precomputed features with
 * {@linkcode writeNpy}; the `npy` dataset plugin reads user images and labels with
 * {@linkcode readNpy}.
 *
 * ```ts
 * import { encodeNpy, parseNpy } from "./npy.ts";
 * const bytes = encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * const arr = parseNpy(bytes, { source: "features.npy" });
 * console.assert(arr.shape[1] === 3 && arr.data[5] === 6);
 * ```
 * @module
 */
import { KtError } from "../errors.ts";
import { inputFileSize, readInputFile, readInputRange, writeFileAtomic } from "./files.ts";

/** Element types kt reads from `.npy` files. */
export type NpyDtype = "uint8" | "int32" | "int64" | "float32" | "float64";

/** Values of a `.npy` array as a typed array of its dtype (`int64` stays exact as bigint). */
export type NpyData = Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

/** A decoded `.npy` array. */
export interface NpyArray {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** All values in C order. */
  data: NpyData;
}

/** Where the bytes came from, for error messages. */
export interface NpySource {
  source: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

const DTYPES: Record<string, { dtype: NpyDtype; size: number }> = {
  "|u1": { dtype: "uint8", size: 1 },
  "<u1": { dtype: "uint8", size: 1 },
  "<i4": { dtype: "int32", size: 4 },
  "<i8": { dtype: "int64", size: 8 },
  "<f4": { dtype: "float32", size: 4 },
  "<f8": { dtype: "float64", size: 8 },
};

const SAVE_HINT = "save it with numpy.save(path, np.ascontiguousarray(a.astype('<f4'))) " +
  "(or '<u1', '<i4', '<i8', '<f8')";

/** What a `.npy` header says: enough to check a file's size and shape before reading it. */
export interface NpyHeader {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Byte offset of the values. */
  dataOffset: number;
  /** Bytes per value. */
  itemSize: number;
  /** Number of values (the product of `shape`). */
  count: number;
  /** The file size the header implies. */
  bytes: number;
}

/** The longest header kt reads (numpy writes a few hundred bytes; it refuses over 10,000). */
export const MAX_NPY_HEADER = 65_536;

/**
 * Decodes the header of `.npy` bytes (`bytes` may be just the file's first bytes), validating
 * magic, version, dtype, order and shape; throws a one-line {@linkcode KtError} naming the source.
 */
export function parseNpyHeader(bytes: Uint8Array, src: NpySource): NpyHeader {
  const fail = (what: string, hint = SAVE_HINT) => new KtError(what, { where: src.source, hint });
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw fail("not a .npy file (missing the \\x93NUMPY magic)");
  }
  const major = bytes[6];
  if (major < 1 || major > 3) throw fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthSize) throw fail(".npy file is truncated inside its header");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_NPY_HEADER) {
    throw fail(`.npy header of ${headerLength} bytes is longer than ${MAX_NPY_HEADER}`);
  }
  const dataOffset = 8 + lengthSize + headerLength;
  if (bytes.length < dataOffset) {
    throw fail(`.npy file is truncated inside its header (${bytes.length} of ${dataOffset} bytes)`);
  }
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(8 + lengthSize, dataOffset),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw fail(`malformed .npy header: ${JSON.stringify(header.trim().slice(0, 200))}`);
  }
  const t = DTYPES[descr];
  if (!t) throw fail(`unsupported dtype '${descr}' (kt reads <u1, <i4, <i8, <f4, <f8)`);
  if (fortran === "True") throw fail("Fortran-ordered array; kt reads C order only");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.length > 32 || shape.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw fail(`malformed shape (${shapeText.slice(0, 200)}) in .npy header`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    dtype: t.dtype,
    shape,
    dataOffset,
    itemSize: t.size,
    count,
    bytes: dataOffset + count * t.size,
  };
}

/** The error for a file whose length differs from what its header says. */
function lengthError(header: NpyHeader, found: number, src: NpySource): KtError {
  const state = found < header.bytes ? "truncated" : "longer than its header says";
  return new KtError(
    `.npy file is ${state}: shape (${
      header.shape.join(", ")
    }) of ${header.dtype} needs ${header.bytes} bytes, found ${found}`,
    { where: src.source, hint: "the file is damaged; write it again" },
  );
}

/** Decodes `.npy` bytes, validating magic, header, dtype, order and length. */
export function parseNpy(bytes: Uint8Array, src: NpySource): NpyArray {
  const header = parseNpyHeader(bytes, src);
  const { dataOffset, count, itemSize: size, dtype } = header;
  if (bytes.length !== header.bytes) throw lengthError(header, bytes.length, src);
  // Typed-array views need aligned offsets; copy the payload when the header leaves it unaligned.
  // (Hosts Deno runs on are little-endian, so native views read '<' data directly.)
  let buf = bytes.buffer;
  let off = bytes.byteOffset + dataOffset;
  if (off % size !== 0) {
    buf = bytes.slice(dataOffset, header.bytes).buffer;
    off = 0;
  }
  return { dtype, shape: header.shape, data: view_(dtype, buf, off, count) };
}

/**
 * Reads the header of a `.npy` file and checks the file's size against it, without reading the
 * values: a regular file only (never a device, FIFO or directory).
 *
 * @example
 * ```ts ignore
 * const { shape, dtype } = await readNpyHeader("x_train.npy");
 * ```
 */
export async function readNpyHeader(path: string): Promise<NpyHeader> {
  const size = await inputFileSize(path);
  const header = parseNpyHeader(await readInputRange(path, 0, MAX_NPY_HEADER + 12), {
    source: path,
  });
  if (size !== header.bytes) throw lengthError(header, size, { source: path });
  return header;
}

function view_(dtype: NpyDtype, buf: ArrayBufferLike, off: number, count: number): NpyData {
  switch (dtype) {
    case "uint8":
      return new Uint8Array(buf, off, count);
    case "int32":
      return new Int32Array(buf, off, count);
    case "int64":
      return new BigInt64Array(buf, off, count);
    case "float32":
      return new Float32Array(buf, off, count);
    case "float64":
      return new Float64Array(buf, off, count);
  }
}

/**
 * Reads and decodes a `.npy` file.
 *
 * @example
 * ```ts ignore
 * const { shape, data } = await readNpy("features.npy");
 * ```
 */
export async function readNpy(path: string): Promise<NpyArray> {
  await readNpyHeader(path); // size checked against the header before the values are read
  return parseNpy(await readInputFile(path), { source: path });
}

/** Encodes a float32 array of the given C-order `shape` as `.npy` (format 1.0) bytes. */
export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((n) => !Number.isInteger(n) || n < 0) || count !== data.length) {
    throw new KtError(
      `encodeNpy: shape (${shape.join(", ")}) does not hold ${data.length} values`,
      { hint: "pass the array's dimensions, outermost first, e.g. [samples, featureDim]" },
    );
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  // Pad with spaces so magic + version + length + header + "\n" is a multiple of 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/**
 * Writes a float32 array as a `.npy` file atomically (temp file + rename).
 *
 * @example
 * ```ts ignore
 * await writeNpy("features.npy", features, [numSamples, dim]);
 * ```
 */
export async function writeNpy(path: string, data: Float32Array, shape: number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}
