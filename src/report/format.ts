/**
 * Text for the report: HTML escaping, numbers, durations and dates.
 * @module
 */

/**
 * Escapes text for HTML content and attribute values (`& < > " '`).
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./format.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
/** Short for {@linkcode escapeHtml}. */
export const esc = escapeHtml;

/** The median of `values` (not empty). */
export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** `0.8 s`, `42 s`, `3m05s`; `—` when unknown. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
    : `${m}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
}

/** A metric value: 4 decimals, fewer for large values, exponent for tiny or huge ones. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
  return a >= 100 ? v.toFixed(1) : v.toFixed(4);
}

/** An axis tick label: short, in exponent form for tiny or huge values. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

/** `2026-11-27 22:28 UTC` from an ISO string; other text unchanged (escaped). */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return esc(iso);
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
