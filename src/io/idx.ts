/**
 * Reader for IDX files, the big-endian format of the MNIST distribution: a 4-byte magic number
 * (`0x00 0x00 <type> <ndims>`), `ndims` big-endian uint32 sizes, then the values in C order.
 *
 * ```ts
 * import { parseIdx } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9]);
 * const idx = parseIdx(bytes, { source: "labels.idx" });
 * console.assert(idx.dims[0] === 2 && idx.data[1] === 9);
 * ```
 * @module
 */
import { KtError } from "../errors.ts";
import { inputFileSize, readInputFile, readInputRange } from "./files.ts";

/** Element types an IDX file can hold, by their type byte. */
export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

/** Values of an IDX file, as a native typed array of its element type. */
export type IdxData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A decoded IDX file. */
export interface IdxFile {
  /** Element type. */
  type: IdxType;
  /** Sizes of each dimension, outermost first (e.g. `[60000, 28, 28]`). */
  dims: number[];
  /** All values in C order, `dims` multiplied together long. */
  data: IdxData;
}

/** Where the bytes came from and what to tell the user when they are bad. */
export interface IdxSource {
  /** File name or path, shown in errors. */
  source: string;
  /** How to fix a bad file (default: regenerate or re-download it). */
  hint?: string;
}

const TYPES: Record<number, { type: IdxType; array: ArrayFor }> = {
  0x08: { type: "uint8", array: Uint8Array },
  0x09: { type: "int8", array: Int8Array },
  0x0b: { type: "int16", array: Int16Array },
  0x0c: { type: "int32", array: Int32Array },
  0x0d: { type: "float32", array: Float32Array },
  0x0e: { type: "float64", array: Float64Array },
};

type ArrayFor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): IdxData;
  BYTES_PER_ELEMENT: number;
};

/** What an IDX header says: enough to check a file's size and shape before reading it. */
export interface IdxHeader {
  /** Element type. */
  type: IdxType;
  /** Sizes of each dimension, outermost first. */
  dims: number[];
  /** Byte offset of the values. */
  dataOffset: number;
  /** Number of values (the product of `dims`). */
  count: number;
  /** The file size the header implies. */
  bytes: number;
}

/**
 * Decodes the header of IDX bytes (`bytes` may be just the file's first bytes): magic number and
 * dimensions; throws a one-line {@linkcode KtError} naming the source.
 */
export function parseIdxHeader(bytes: Uint8Array, src: IdxSource): IdxHeader {
  const hint = src.hint ?? "the file is damaged or not an IDX file; regenerate or re-download it";
  const fail = (what: string) => new KtError(what, { where: src.source, hint });
  if (bytes.length < 4) {
    throw fail(`not an IDX file: only ${bytes.length} bytes, too short for a header`);
  }
  const t = TYPES[bytes[2]];
  const ndims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !t || ndims === 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
    throw fail(`not an IDX file: bad magic number 0x${magic.join("")}`);
  }
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw fail(
      `IDX file is truncated inside its header (${bytes.length} of ${headerLength} bytes)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const n = view.getUint32(4 + 4 * i, false);
    dims.push(n);
    count *= n;
  }
  const size = t.array.BYTES_PER_ELEMENT;
  return {
    type: t.type,
    dims,
    dataOffset: headerLength,
    count,
    bytes: headerLength + count * size,
  };
}

function lengthError(header: IdxHeader, found: number, src: IdxSource): KtError {
  const state = found < header.bytes ? "truncated" : "longer than its header says";
  const what = `dims ${header.dims.join("×")} of ${header.type} need ${header.bytes} bytes`;
  return new KtError(`IDX file is ${state}: ${what}, found ${found}`, {
    where: src.source,
    hint: src.hint ?? "the file is damaged or not an IDX file; regenerate or re-download it",
  });
}

/** Decodes IDX bytes, validating the magic number, the dimensions and the file length. */
export function parseIdx(bytes: Uint8Array, src: IdxSource): IdxFile {
  const header = parseIdxHeader(bytes, src);
  if (bytes.length !== header.bytes) throw lengthError(header, bytes.length, src);
  const t = Object.values(TYPES).find((x) => x.type === header.type)!;
  return {
    type: header.type,
    dims: header.dims,
    data: decode(bytes, header.dataOffset, header.count, t.array),
  };
}

/**
 * Reads the header of an IDX file and checks the file's size against it, without reading the
 * values: a regular file only (never a device, FIFO or directory).
 *
 * @example
 * ```ts ignore
 * const { dims } = await readIdxHeader("data/train-images-idx3-ubyte");
 * ```
 */
export async function readIdxHeader(path: string, hint?: string): Promise<IdxHeader> {
  const size = await inputFileSize(path, hint);
  const src = { source: path, hint };
  const header = parseIdxHeader(await readInputRange(path, 0, 4 + 4 * 255, hint), src);
  if (size !== header.bytes) throw lengthError(header, size, src);
  return header;
}

/**
 * The big-endian payload as a native (little-endian) typed array: a view for bytes, a
 * byte-swapped copy for wider types.
 */
function decode(bytes: Uint8Array, offset: number, count: number, array: ArrayFor): IdxData {
  const size = array.BYTES_PER_ELEMENT;
  if (size === 1) return new array(bytes.buffer, bytes.byteOffset + offset, count);
  const out = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    const src = offset + i * size;
    for (let b = 0; b < size; b++) out[i * size + b] = bytes[src + size - 1 - b];
  }
  return new array(out.buffer);
}

/**
 * Reads and decodes an IDX file; a missing or bad file is a {@linkcode KtError} with `hint`.
 *
 * @example
 * ```ts ignore
 * const images = await readIdx("data/train-images-idx3-ubyte");
 * ```
 */
export async function readIdx(path: string, hint?: string): Promise<IdxFile> {
  await readIdxHeader(path, hint); // size checked against the header before the values are read
  return parseIdx(await readInputFile(path, hint), { source: path, hint });
}
