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
