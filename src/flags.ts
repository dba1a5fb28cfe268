/**
 * Parsers for command-line flag values: each turns the text after a flag into a checked value or
 * throws one {@linkcode KtError} that names the flag, shows the value, says what is expected and
 * gives an example. Hand them to commander as an option's argument parser; defaults given as
 * values are not parsed.
 *
 * ```ts
 * import { intFlag } from "./flags.ts";
 * const jobs = intFlag("--jobs", { min: 1, example: "2" });
 * jobs("4"); // 4
 * // jobs("0") throws: --jobs "0": expected a whole number >= 1 — e.g. --jobs 2
 * ```
 * @module
 */
import { pathProblem } from "./config/names.ts";
import { KtError } from "./errors.ts";

/** Bounds and an example value of a numeric flag. */
export interface NumberFlagOptions {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Values must be greater than this. */
  above?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Values must be less than this. */
  below?: number;
  /** A valid value for the hint. */
  example: string;
}

function flagError(flag: string, value: string, problem: string, example: string): KtError {
  return new KtError(problem, {
    where: `${flag} ${JSON.stringify(value)}`,
    hint: `e.g. ${flag} ${example}`,
  });
}

function bounds(o: NumberFlagOptions): string {
  const parts: string[] = [];
  if (o.min !== undefined) parts.push(`>= ${o.min}`);
  if (o.above !== undefined) parts.push(`> ${o.above}`);
  if (o.max !== undefined) parts.push(`<= ${o.max}`);
  if (o.below !== undefined) parts.push(`< ${o.below}`);
  return parts.join(" and ");
}

function inBounds(n: number, o: NumberFlagOptions): boolean {
  return (o.min === undefined || n >= o.min) && (o.above === undefined || n > o.above) &&
    (o.max === undefined || n <= o.max) && (o.below === undefined || n < o.below);
}

/** A parser of finite numbers (decimal or exponent notation) within bounds. */
export function numberFlag(flag: string, o: NumberFlagOptions): (value: string) => number {
  return (value) => {
    const text = value.trim();
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(n) || !inBounds(n, o)) {
      const range = bounds(o);
      throw flagError(flag, value, `expected a number${range ? ` ${range}` : ""}`, o.example);
    }
    return n;
  };
}

/** A parser of whole numbers within bounds (at most 2^53). */
export function intFlag(flag: string, o: NumberFlagOptions): (value: string) => number {
  return (value) => {
    const text = value.trim();
    const n = /^[+-]?\d{1,16}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || !inBounds(n, o)) {
      const range = bounds(o);
      throw flagError(
        flag,
        value,
        `expected a whole number${range ? ` ${range}` : ""}`,
        o.example,
      );
    }
    return n;
  };
}

/** A parser of one of `choices`. */
export function choiceFlag<T extends string>(
  flag: string,
  choices: readonly T[],
): (value: string) => T {
  return (value) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw flagError(flag, value, `expected one of ${choices.join(", ")}`, choices[0]);
  };
}

/** A parser of a JSON object (plugin options), e.g. `{"filters":[16,32]}`. */
export function jsonObjectFlag(
  flag: string,
  example: string,
): (value: string) => Record<string, unknown> {
  return (value) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      const why = (err as Error).message.split("\n")[0];
      throw flagError(flag, value, `expected a JSON object: ${why}`, `'${example}'`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw flagError(flag, value, "expected a JSON object in braces", `'${example}'`);
    }
    return parsed as Record<string, unknown>;
  };
}

/** A parser of a directory kt writes to: no commas, no control characters, not empty. */
export function dirFlag(flag: string, example: string): (value: string) => string {
  return (value) => {
    const problem = pathProblem(value);
    if (problem) throw flagError(flag, value, `a directory path ${problem}`, example);
    return value;
  };
}
