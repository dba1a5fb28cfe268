/**
 * The backend names a user may ask for, without loading any backend: the config layer checks a
 * YAML's `backend:` against them, and `useBackend()` in `select.ts` activates one.
 * @module
 */

/**
 * Backend names a user may ask for.
 *
 * @example
 * ```ts
 * import { BACKENDS } from "./names.ts";
 * console.log(BACKENDS.includes("wasm")); // true
 * ```
 */
export const BACKENDS = ["auto", "wasm", "cpu", "webgpu", "tensorflow", "tensorflow-gpu"] as const;
/** A backend name. */
export type BackendName = typeof BACKENDS[number];
