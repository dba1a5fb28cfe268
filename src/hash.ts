/**
 * Content hashes: the one sha-256 helper behind cache keys, file checksums, trial ids and source
 * hashes. No other dependency, so the config layer can hash without loading the cache.
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Hex sha-256 of bytes or of a string's UTF-8 encoding.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * console.log(sha256Hex("").slice(0, 8)); // "e3b0c442"
 * ```
 */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
