/**
 * How much memory this machine has, and byte counts written for people — for the checks that
 * refuse, before anything is read or built, work that cannot fit (a 1e9-wide dense layer, a file
 * larger than memory).
 *
 * ```ts
 * import { formatBytes } from "./memory.ts";
 * formatBytes(3.2e12); // "3.2 TB"
 * ```
 * @module
 */

/** Total memory of this machine in bytes, or `Infinity` when Deno may not ask (no --allow-sys). */
export function memoryBytes(): number {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return Infinity;
  }
}

/** `n` bytes as `512 B`, `1.5 MB`, `3.2 TB` (powers of 1000, two significant digits or more). */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === units.length - 1 && Math.abs(value) >= 1000) return `${n.toExponential(1)} B`;
  const text = unit === 0 ? String(Math.round(value)) : String(Number(value.toPrecision(2)));
  return `${text} ${units[unit]}`;
}

/** A count for people: `12,345` up to a billion, `1.6e+12` above. */
export function formatCount(n: number): string {
  return n < 1e9 ? Math.round(n).toLocaleString("en-US") : n.toExponential(1);
}
