/**
 * Names and paths that end up in the file system or in permission flags: the experiment's
 * `name:` (the run directory `runs/<name>`), node names, and directories (`cacheDir:`, `runDir:`,
 * `--cache-dir`). A value that passes these checks cannot step out of its directory, hide as a
 * flag, or widen a `--allow-write=a,b` list.
 *
 * ```ts
 * import { nameProblem, pathProblem } from "./names.ts";
 * nameProblem("pkt-vs-kd"); // undefined: fine
 * nameProblem("x,/,y"); // 'must not contain ","'
 * pathProblem("/data/kt,/"); // 'must not contain "," (the separator of Deno\'s permission lists)'
 * ```
 * @module
 */

/** The longest name kt accepts (a directory name stays far below file-system limits). */
export const MAX_NAME_LENGTH = 100;

/** The longest path kt accepts. */
export const MAX_PATH_LENGTH = 4096;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function describeChar(c: string): string {
  return CONTROL.test(c)
    ? `a control character (U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")})`
    : `"${c}"`;
}

/**
 * Why `name` cannot be one directory name, or `undefined` when it can: it must be non-empty, at
 * most {@linkcode MAX_NAME_LENGTH} characters, hold no `/`, `\`, `,`, control characters or
 * `..`, and not start with `-` or end in spaces.
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > MAX_NAME_LENGTH) {
    return `is ${name.length} characters long; at most ${MAX_NAME_LENGTH} are allowed`;
  }
  const bad = /[/\\,]/.exec(name)?.[0] ?? CONTROL.exec(name)?.[0];
  if (bad !== undefined) return `must not contain ${describeChar(bad)}`;
  if (name.includes("..")) return `must not contain ".."`;
  if (name === ".") return `must not be "."`;
  if (name.startsWith("-")) return `must not start with "-"`;
  if (name.trim() !== name) return "must not start or end with spaces";
  return undefined;
}

/** `name` with every character {@linkcode nameProblem} refuses replaced, as a suggestion. */
export function safeName(name: string): string {
  const cleaned = [...name.replace(/\.\.+/g, "")]
    .map((c) => /[/\\,]/.test(c) || CONTROL.test(c) ? "-" : c)
    .join("")
    .replace(/-{2,}/g, "-")
    .trim()
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_NAME_LENGTH);
  return cleaned === "" || cleaned === "." ? "my-experiment" : cleaned;
}

/**
 * Why `path` cannot be a directory kt writes to or names in a permission flag, or `undefined`:
 * it must be non-empty, hold no `,` (the separator of Deno's `--allow-write=a,b` lists) and no
 * control characters.
 */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return "must not be empty";
  if (path.length > MAX_PATH_LENGTH) {
    return `is ${path.length} characters long; at most ${MAX_PATH_LENGTH} are allowed`;
  }
  if (path.includes(",")) return `must not contain "," (the separator of Deno's permission lists)`;
  const control = CONTROL.exec(path)?.[0];
  if (control !== undefined) return `must not contain ${describeChar(control)}`;
  return undefined;
}
