/**
 * Downloads into a cache with checksum verification and partial-download safety: bytes stream to
 * a temp file beside the destination while being hashed, and only a complete file whose checksum
 * matches is renamed to its final name. Also: file checksums and gzip decompression.
 *
 * ```ts ignore
 * import { cachedDownload } from "./download.ts";
 * const path = await cachedDownload(
 *   "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
 *   ".kt/cache/cifar10/cifar-10-binary.tar.gz",
 *   { md5: "c32a1d4ab5d03f1284b67883e8d87530" },
 * );
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { KtError } from "./errors.ts";
import { exists, removeQuietly, tempPathFor } from "./io/files.ts";

/** Expected digests, lowercase or uppercase hex. At least one should be given. */
export interface Checksums {
  /** Hex MD5 of the file. */
  md5?: string;
  /** Hex SHA-256 of the file. */
  sha256?: string;
}

/** Options of {@linkcode downloadFile} and {@linkcode cachedDownload}. */
export interface DownloadOptions {
  /** Progress lines (start, every ~10%, done). */
  log?: (message: string) => void;
}

type Algo = keyof Checksums;

function requested(checksums: Checksums): Algo[] {
  return (["md5", "sha256"] as const).filter((a) => checksums[a] !== undefined);
}

/** Hex digests of a file, streamed (never the whole file in memory). */
export async function fileChecksums(
  path: string,
  algos: Algo[] = ["md5", "sha256"],
): Promise<Checksums> {
  const hashes = algos.map((a) => createHash(a));
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) for (const h of hashes) h.update(chunk);
  const out: Checksums = {};
  algos.forEach((a, i) => (out[a] = hashes[i].digest("hex")));
  return out;
}

/** The first checksum of `expected` that `got` contradicts, as `[algo, expected, got]`. */
function mismatch(expected: Checksums, got: Checksums): [Algo, string, string] | undefined {
  for (const a of requested(expected)) {
    if (expected[a]!.toLowerCase() !== got[a]) return [a, expected[a]!.toLowerCase(), got[a]!];
  }
  return undefined;
}

function mismatchError(url: string, [algo, want, got]: [Algo, string, string]): KtError {
  return new KtError(`checksum mismatch for ${url}: expected ${algo} ${want}, got ${got}`, {
    hint: `the download was corrupt or the url serves a different file; retry, or set the ` +
      `${algo} option to the file's real checksum if you trust this url`,
  });
}

/**
 * Downloads `url` to `dest`: streams into a temp file while hashing, checks the length against
 * Content-Length and the digests against `checksums`, then renames. On any failure the temp file
 * is removed and a {@linkcode KtError} thrown; `dest` is never left half-written.
 */
export async function downloadFile(
  url: string,
  dest: string,
  checksums: Checksums,
  options: DownloadOptions = {},
): Promise<void> {
  const algos = requested(checksums);
  const manual = `check the network, or download ${url} yourself and place it at ${dest}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new KtError(`could not download ${url}: ${(e as Error).message}`, {
      hint: manual,
      cause: e,
    });
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new KtError(`could not download ${url}: HTTP ${res.status} ${res.statusText}`, {
      hint: manual,
    });
  }
  const total = Number(res.headers.get("content-length") ?? NaN);
  await Deno.mkdir(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  const hashes = algos.map((a) => createHash(a));
  let received = 0;
  let nextReport = 0.1;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      options.log?.(`downloading ${url}${Number.isFinite(total) ? ` (${mib(total)})` : ""}`);
      for await (const chunk of res.body) {
        for (const h of hashes) h.update(chunk);
        let written = 0;
        while (written < chunk.length) written += await file.write(chunk.subarray(written));
        received += chunk.length;
        if (Number.isFinite(total) && received / total >= nextReport && received < total) {
          options.log?.(`  ${Math.floor((received / total) * 100)}% of ${mib(total)}`);
          nextReport += 0.1;
        }
      }
    } catch (e) {
      throw new KtError(
        `download of ${url} failed after ${received} bytes: ${(e as Error).message}`,
        { hint: `retry; if it keeps failing, ${manual}`, cause: e },
      );
    } finally {
      file.close();
    }
    if (Number.isFinite(total) && received !== total) {
      throw new KtError(`download of ${url} ended early: got ${received} of ${total} bytes`, {
        hint: `retry; if it keeps failing, ${manual}`,
      });
    }
    const got: Checksums = {};
    algos.forEach((a, i) => (got[a] = hashes[i].digest("hex")));
    const bad = mismatch(checksums, got);
    if (bad) throw mismatchError(url, bad);
    await Deno.rename(tmp, dest);
  } catch (e) {
    await removeQuietly(tmp);
    throw e;
  }
  options.log?.(`downloaded ${mib(received)} to ${dest}`);
}

/**
 * Returns `dest`, downloading `url` there first unless a file with the right checksums is already
 * present (a present file with wrong checksums is deleted and downloaded again).
 */
export async function cachedDownload(
  url: string,
  dest: string,
  checksums: Checksums,
  options: DownloadOptions = {},
): Promise<string> {
  if (await exists(dest)) {
    const bad = mismatch(checksums, await fileChecksums(dest, requested(checksums)));
    if (!bad) return dest;
    options.log?.(`${dest}: ${bad[0]} ${bad[2]} is not the expected ${bad[1]}; downloading again`);
    await removeQuietly(dest);
  }
  await downloadFile(url, dest, checksums, options);
  return dest;
}

/** Decompresses a gzip stream. */
export function gunzip(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
  );
}

function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
