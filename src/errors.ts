/**
 * User-facing errors. A {@linkcode KtError} carries what went wrong, where, and how to fix it;
 * the CLI prints it as one line (plus the hint) and exits non-zero, never a stack trace.
 * @module
 */

/** An error caused by user input or environment, with a hint on how to fix it. */
export class KtError extends Error {
  /** How the user can fix it (e.g. a command to run or the valid choices). */
  readonly hint?: string;
  /** Where the problem is, e.g. `exp.yaml:3:7` or a file path. */
  readonly where?: string;
  /** An error with `message`, and optionally how to fix it and where the problem is. */
  constructor(message: string, options: { hint?: string; where?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "KtError";
    this.hint = options.hint;
    this.where = options.where;
  }

  /** One line: `where: message (hint)`. */
  format(): string {
    const where = this.where ? `${this.where}: ` : "";
    const hint = this.hint ? ` — ${this.hint}` : "";
    return `${where}${this.message}${hint}`;
  }
}

/**
 * A {@linkcode KtError} about one option of a plugin, found before running (by a `describe` or
 * `estimate` hook): `option` is its path inside the plugin's options (`images`, `dense.0`,
 * `model.kernelSize`), which the engine turns into the `file:line:col` of that value.
 */
export class OptionError extends KtError {
  /** Path of the option inside the plugin's options, dot-separated. */
  readonly option: string;
  /** An error about `option` (a dot-separated path inside the plugin's options). */
  constructor(
    option: string,
    message: string,
    options: { hint?: string; where?: string; cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "OptionError";
    this.option = option;
  }

  /**
   * `err` about option `option`: a {@linkcode KtError} (e.g. a file that cannot be read) becomes an
   * OptionError with its message, place and hint; anything else is returned as it is.
   */
  static from(option: string, err: unknown): unknown {
    if (!(err instanceof KtError) || err instanceof OptionError) return err;
    const hint = err.message === "file not found"
      ? "check the path; paths in an experiment are relative to its folder"
      : err.hint;
    return new OptionError(option, err.message, { hint, where: err.where, cause: err });
  }

  /** The same error for the option path `prefix.option` (an inline plugin inside `prefix`). */
  within(prefix: string): OptionError {
    return new OptionError(`${prefix}.${this.option}`, this.message, {
      hint: this.hint,
      where: this.where,
      cause: this.cause,
    });
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** Known names closest to `name` (distance ≤ max(2, len/3)), best first. */
export function closestNames(name: string, known: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return [...known]
    .map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }))
    .filter(({ d }) => d <= limit)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map(({ k }) => k);
}

/** `unknown loss "pkt2"; did you mean "pkt"?` or `...; known: a, b, c`. */
export function unknownNameMessage(kind: string, name: string, known: Iterable<string>): string {
  const names = [...known].sort();
  const close = closestNames(name, names);
  if (close.length > 0) return `unknown ${kind} "${name}"; did you mean "${close[0]}"?`;
  return `unknown ${kind} "${name}"; known: ${names.join(", ")}`;
}

const KT_ROOT = new URL("../", import.meta.url).href;
const KT_OWN = ["src/", "plugins/", "main.ts", "node_modules/"].map((p) => KT_ROOT + p);

/**
 * The first frame of `err`'s stack in code that is not kt's own (a user plugin file, or a module
 * it imports), as `path:line:col`; `undefined` when every frame is kt's, Deno's or a package's.
 *
 * @example
 * ```ts
 * import { userFrame } from "./errors.ts";
 * const err = new Error("boom");
 * err.stack = "Error: boom\n    at create (file:///home/me/my_loss.ts:12:9)\n    at run (ext:core/x.js:1:1)";
 * userFrame(err); // "/home/me/my_loss.ts:12:9"
 * ```
 */
export function userFrame(err: unknown): string | undefined {
  const stack = err instanceof Error ? stripAnsi(err.stack ?? "") : "";
  for (const m of stack.matchAll(/^\s+at (?:.*?\()?(file:\/\/[^\s)]+?):(\d+):(\d+)\)?$/gm)) {
    const url = m[1];
    if (KT_OWN.some((p) => url.startsWith(p)) || url.includes("/node_modules/")) continue;
    return `${decodeURIComponent(new URL(url).pathname)}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/** `text` without terminal colour codes. */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** `Name: first line of the message` of anything thrown (no colour codes). */
export function thrownSummary(err: unknown): string {
  if (!(err instanceof Error)) return stripAnsi(String(err)).split("\n")[0];
  const first = stripAnsi(err.message).split("\n")[0];
  const named = err.name && err.name !== "Error" && !/^[A-Z][A-Za-z]*Error: /.test(first);
  return named ? `${err.name}: ${first}` : first;
}

/**
 * A {@linkcode KtError} for anything plugin code threw that is not already one: located at the
 * plugin's own source line ({@linkcode userFrame}) when there is one, naming `what` (e.g.
 * `dataset plugin "escape" of node "train" (exp.yaml:4:3)`). The original error stays the cause
 * (its stack is printed with `--debug`).
 */
export function pluginFailure(err: unknown, what: string): KtError {
  if (err instanceof KtError) return err;
  return new KtError(`${what} failed: ${thrownSummary(err)}`, {
    where: userFrame(err),
    cause: err,
  });
}

/**
 * The text to print for an error: {@linkcode KtError.format} (plus the stack of its cause with
 * `debug`), or `Name: message` of anything else (its stack with `debug`, else a note how to
 * see it). Never a bare stack trace without `debug`.
 */
export function describeError(err: unknown, debug = false): string {
  if (err instanceof KtError) {
    const cause = err.cause instanceof Error ? err.cause.stack : undefined;
    return debug && cause ? `${err.format()}\n${cause}` : err.format();
  }
  if (debug) return err instanceof Error ? err.stack ?? String(err) : String(err);
  const where = userFrame(err);
  return `${where ? `${where}: ` : ""}${thrownSummary(err)} (kt --debug prints the stack trace)`;
}

/** Whether `--debug` is on (the CLI sets `KT_DEBUG=1`, which worker processes inherit). */
export function debugEnabled(): boolean {
  try {
    return Deno.env.get("KT_DEBUG") === "1";
  } catch {
    return false;
  }
}
