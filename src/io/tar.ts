/**
 * A small streaming reader for tar archives (POSIX ustar, with GNU long names and pax `path`
 * records): enough to unpack dataset tarballs such as CIFAR-10's without external tools.
 *
 * ```ts ignore
 * import { readTar } from "./tar.ts";
 * import { gunzip } from "../download.ts";
 * const file = await Deno.open("cifar-10-binary.tar.gz");
 * for await (const entry of readTar(gunzip(file.readable), { source: "cifar-10-binary.tar.gz" })) {
 *   console.log(entry.name, entry.data.length);
 * }
 * ```
 * @module
 */
import { KtError } from "../errors.ts";

/** One regular file of an archive. */
export interface TarEntry {
  /** Path inside the archive (`prefix/name` for ustar). */
  name: string;
  /** The file's bytes. */
  data: Uint8Array;
}

/** Options of {@linkcode readTar}. */
export interface TarOptions {
  /** Archive name for error messages. */
  source: string;
  /** Which regular files to read into memory; others are skipped without buffering. */
  want?: (name: string) => boolean;
}

const BLOCK = 512;

/** Pulls exact byte counts from a stream of chunks. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  /** Exactly `n` bytes, or fewer only when the stream ends. */
  async read(n: number): Promise<Uint8Array> {
    if (this.#chunk.length >= n) {
      const out = this.#chunk.subarray(0, n);
      this.#chunk = this.#chunk.subarray(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.#chunk.length === 0) {
        const { value, done } = await this.#reader.read();
        if (done) return out.subarray(0, filled);
        this.#chunk = value;
      }
      const take = Math.min(n - filled, this.#chunk.length);
      out.set(this.#chunk.subarray(0, take), filled);
      this.#chunk = this.#chunk.subarray(take);
      filled += take;
    }
    return out;
  }
  /** Discards `n` bytes; returns how many were available. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const got = await this.read(Math.min(left, 1 << 20));
      if (got.length === 0) break;
      left -= got.length;
    }
    return n - left;
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function text(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(bytes: Uint8Array): number {
  if (bytes[0] & 0x80) {
    // GNU base-256 for sizes ≥ 8 GiB: big-endian magnitude after the marker bit.
    let v = bytes[0] & 0x7f;
    for (let i = 1; i < bytes.length; i++) v = v * 256 + bytes[i];
    return v;
  }
  const s = text(bytes).trim();
  return s === "" ? 0 : parseInt(s, 8);
}

function paxPath(data: Uint8Array): string | undefined {
  // Records: "<len> key=value\n".
  const s = new TextDecoder().decode(data);
  for (const line of s.split("\n")) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Streams the regular files of a tar archive (directories, links and unwanted files are
 * skipped). Validates each header checksum; a truncated or damaged
 * archive throws a {@linkcode KtError} naming `options.source`.
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
  options: TarOptions,
): AsyncGenerator<TarEntry> {
  const input = new ByteReader(stream);
  const fail = (what: string) =>
    new KtError(what, {
      where: options.source,
      hint: "the archive is damaged; delete it so it is downloaded again",
    });
  let longName: string | undefined;
  try {
    while (true) {
      const header = await input.read(BLOCK);
      if (header.length === 0) return; // no end-of-archive blocks; tolerate like tar does
      if (header.length < BLOCK) throw fail("tar archive is truncated inside a header");
      if (header.every((b) => b === 0)) return; // end-of-archive marker
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
      if (sum !== octal(header.subarray(148, 156))) {
        throw fail("tar header checksum mismatch (not a tar archive, or damaged)");
      }
      const size = octal(header.subarray(124, 136));
      const flag = String.fromCharCode(header[156]);
      let name = text(header.subarray(0, 100));
      if (text(header.subarray(257, 262)) === "ustar") {
        const prefix = text(header.subarray(345, 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) {
        name = longName;
        longName = undefined;
      }
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const isFile = flag === "0" || flag === "\0" || flag === "7";
      const meta = flag === "L" || flag === "x";
      if (meta || (isFile && (options.want?.(name) ?? true))) {
        const data = await input.read(size);
        if (data.length < size) throw fail(`tar archive is truncated inside "${name}"`);
        if ((await input.skip(padded - size)) < padded - size) {
          throw fail(`tar archive is truncated after "${name}"`);
        }
        if (flag === "L") longName = text(data);
        else if (flag === "x") longName = paxPath(data) ?? longName;
        else yield { name, data };
      } else if ((await input.skip(padded)) < padded) {
        throw fail(`tar archive is truncated inside "${name}"`);
      }
    }
  } finally {
    await input.cancel();
  }
}
