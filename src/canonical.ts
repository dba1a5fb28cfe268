/**
 * Canonical JSON: one text per value, so equal values hash equally. Used for cache keys and for
 * grouping trials by their parameters.
 * @module
 */
import { KtError } from "./errors.ts";

/** A value {@linkcode canonicalJson} accepts. `undefined` object members are dropped, as in JSON. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue | undefined };

/**
 * JSON text of `value` with object keys sorted (by UTF-16 code units) at every depth and no
 * whitespace. Array order is kept. Throws {@linkcode KtError} for values JSON cannot represent
 * faithfully (NaN, ±Infinity, functions, bigints, typed arrays, Maps and other class instances,
 * cycles), since a cache key must never silently
 * change meaning. Objects with a `toJSON` method (e.g. `Date`) are written as its result. `-0` is written as `0`, as `JSON.stringify` does.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./canonical.ts";
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, "$", new Set());
}

function write(value: unknown, path: string, seen: Set<object>): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new KtError(`cannot hash ${value} at ${path}: only finite numbers are allowed`, {
          hint: 'use a finite number, or a string such as "inf" if the plugin accepts one',
        });
      }
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new KtError(`cannot hash a ${typeof value} at ${path}: only JSON values are allowed`, {
        hint: "options and parameters must be plain data (objects, arrays, strings, numbers)",
      });
  }
  const obj = value as object;
  if (seen.has(obj)) throw new KtError(`cannot hash a cyclic value at ${path}`);
  seen.add(obj);
  let text: string;
  if (Array.isArray(obj)) {
    text = `[${obj.map((v, i) => write(v ?? null, `${path}[${i}]`, seen)).join(",")}]`;
  } else if (ArrayBuffer.isView(obj)) {
    throw new KtError(`cannot hash a typed array at ${path}`, {
      hint: "hash the data with cacheKey's input keys, not inside options",
    });
  } else if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
    text = write((obj as { toJSON(): unknown }).toJSON(), path, seen);
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      throw new KtError(`cannot hash a ${obj.constructor?.name ?? "class"} object at ${path}`, {
        hint: "options and parameters must be plain data (objects, arrays, strings, numbers)",
      });
    }
    const record = obj as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${write(record[k], `${path}.${k}`, seen)}`);
    text = `{${members.join(",")}}`;
  }
  seen.delete(obj);
  return text;
}

/**
 * A short human form of a parameter value for labels: numbers to 4 significant digits, strings
 * as they are, an inline plugin `{ use: hinton, form: official }` as `hinton(form=official)`,
 * anything else as canonical JSON.
 *
 * @example
 * ```ts
 * import { displayValue } from "./canonical.ts";
 * displayValue({ use: "hinton", form: "official" }); // "hinton(form=official)"
 * displayValue(0.000123456); // "0.0001235"
 * ```
 */
export function displayValue(v: unknown): string {
  if (typeof v === "number") {
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  }
  if (typeof v === "string") return v;
  if (
    v && typeof v === "object" && !Array.isArray(v) &&
    typeof (v as { use?: unknown }).use === "string"
  ) {
    const { use, ...rest } = v as Record<string, unknown>;
    const keys = Object.keys(rest).sort();
    if (keys.length === 0) return use as string;
    return `${use}(${keys.map((k) => `${k}=${displayValue(rest[k])}`).join(", ")})`;
  }
  return canonicalJson(v);
}
