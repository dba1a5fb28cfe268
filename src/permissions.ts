/**
 * Deno permission flags for the processes kt starts, built from parts so that no value can widen
 * them: every path is checked ({@linkcode pathProblem}: no `,`, Deno's list separator, no control
 * characters, not empty) and made absolute; every host is a plain `name[:port]`. And the command
 * that starts a worker: this very `deno`, by a name the run permission of the tasks allows.
 *
 * ```ts
 * import { allowFlag } from "./permissions.ts";
 * allowFlag("--allow-write", ["/tmp/kt/cache", "/tmp/kt/runs/x"]); // "--allow-write=/tmp/kt/cache,/tmp/kt/runs/x"
 * ```
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathProblem } from "./config/names.ts";
import { KtError } from "./errors.ts";

/** The programs the `sweep` and `kt` tasks may start (see deno.json): workers and Slurm. */
export const ALLOWED_PROGRAMS = ["deno", "sbatch", "squeue", "sacct", "scancel"] as const;

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * `--allow-write=/abs/a,/abs/b` (paths) or `--allow-net=host:port,...` (hosts), or `undefined`
 * when `values` is empty (no flag: nothing allowed). Throws {@linkcode KtError} naming the value
 * when a path holds a comma or control character, or a host is not a plain host name.
 */
export function allowFlag(
  flag: "--allow-write" | "--allow-net",
  values: readonly string[],
): string | undefined {
  const parts: string[] = [];
  for (const value of values) {
    let part: string;
    if (flag === "--allow-net") {
      if (!HOST.test(value)) {
        throw new KtError(`cannot allow network access to ${JSON.stringify(value)}`, {
          hint: "dataset URLs must name a plain host (letters, digits, '-', '.', an optional port)",
        });
      }
      part = value;
    } else {
      const problem = pathProblem(value);
      if (problem) {
        throw new KtError(`the directory ${JSON.stringify(value)} ${problem}`, {
          hint: "choose a cache or run directory without commas or control characters",
        });
      }
      part = isAbsolute(value) ? resolve(value) : resolve(Deno.cwd(), value);
    }
    if (!parts.includes(part)) parts.push(part);
  }
  return parts.length === 0 ? undefined : `${flag}=${parts.join(",")}`;
}

/** The first executable file called `name` on `PATH`, if any. */
export function findOnPath(name: string): string | undefined {
  let path: string | undefined;
  try {
    path = Deno.env.get("PATH");
  } catch {
    return undefined;
  }
  const windows = Deno.build.os === "windows";
  for (const dir of (path ?? "").split(windows ? ";" : ":")) {
    if (dir === "") continue;
    for (const file of windows ? [`${name}.exe`, name] : [name]) {
      const candidate = join(dir, file);
      try {
        const stat = Deno.statSync(candidate);
        if (stat.isFile && (windows || ((stat.mode ?? 0o111) & 0o111) !== 0)) return candidate;
      } catch { /* not here */ }
    }
  }
  return undefined;
}

function sameFile(a: string, b: string): boolean {
  try {
    return Deno.realPathSync(a) === Deno.realPathSync(b);
  } catch {
    return false;
  }
}

function runState(command: string): Deno.PermissionState {
  return Deno.permissions.querySync({ name: "run", command }).state;
}

let cached: string | undefined;

/**
 * How to start this `deno` (the binary running kt) as a worker process under the run permission
 * kt was given: its own path when that is allowed (`-A`, a blanket `--allow-run`, or the path
 * listed), else the name `deno` when the tasks' `--allow-run=deno,...` allows it and `deno` on
 * `PATH` is this same binary (true for an installed deno and under `npx deno`, which puts its
 * binary first on `PATH`), else its own path when Deno can ask on a terminal. Throws
 * {@linkcode KtError} saying how to fix it otherwise.
 */
export function denoCommand(): string {
  if (cached !== undefined) return cached;
  const exec = Deno.execPath();
  const own = runState(exec);
  if (own === "granted") return cached = exec;
  const onPath = findOnPath("deno");
  const same = onPath !== undefined && sameFile(onPath, exec);
  if (same && runState("deno") === "granted") return cached = "deno";
  // Not named by the run permission: Deno asks on a terminal (no --allow-run at all).
  if (own === "prompt" && Deno.stdin.isTerminal()) return cached = exec;
  const path = onPath === undefined
    ? "no `deno` is on PATH"
    : same
    ? "`deno` on PATH is not allowed either"
    : `\`deno\` on PATH is another binary (${onPath})`;
  throw new KtError(
    `workers are started with this deno (${exec}), which kt may not run: ${path}`,
    {
      hint: `put ${dirname(exec)} first on PATH (the tasks allow \`deno\`), or run kt with ` +
        `--allow-run=${exec},${ALLOWED_PROGRAMS.slice(1).join(",")}`,
    },
  );
}
