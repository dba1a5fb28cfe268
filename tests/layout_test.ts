/**
 * The folder layout keeps the architecture's promises (docs/architecture.md): the config layer
 * loads no tfjs and not the cache, the engine uses no plugin helper from `src/steps.ts`, a module
 * whose name starts with `_` is imported only from its own folder, and each plugin file lives in the
 * folder of its kind.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import type { Plugin } from "../src/api.ts";
import { describePlugins } from "../src/describe.ts";
import { builtinPlugins } from "../plugins/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** One module of `deno info --json`: its specifier and what it imports. */
interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

/**
 * Every module loaded at run time when `entry` is imported: its code imports, static and dynamic,
 * followed from `entry` (type-only imports are erased and load nothing).
 */
async function runtimeGraph(entry: string): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>([info.roots[0]]);
  const queue = [info.roots[0]];
  for (let spec = queue.shift(); spec !== undefined; spec = queue.shift()) {
    const module = modules.get(info.redirects[spec] ?? spec);
    for (const dep of module?.dependencies ?? []) {
      const next = dep.code?.specifier;
      if (next && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return [...seen].map((s) => s.startsWith("file://") ? relative(ROOT, new URL(s).pathname) : s);
}

/** The TypeScript files of the repository, relative to its root. */
function sourceFiles(dir = ""): string[] {
  const skip = new Set(["node_modules", ".git", ".kt", "runs", "scratch"]);
  const out: string[] = [];
  for (const entry of Deno.readDirSync(join(ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !skip.has(entry.name)) out.push(...sourceFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The relative module specifiers a file imports or re-exports, resolved against the root. */
function relativeImports(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const specs = text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g);
  return [...specs].map((m) => normalize(join(dirname(file), m[1])));
}

Deno.test("the config layer loads no tfjs package and not the cache", async () => {
  const graph = await runtimeGraph("src/config/mod.ts");
  assert.ok(graph.includes("src/config/parse.ts"), "the walk follows the config's own modules");
  assert.ok(graph.some((s) => s.startsWith("npm:yaml@")), "the walk reaches npm packages");
  assert.deepEqual(graph.filter((s) => s.includes("@tensorflow/")), []);
  assert.ok(!graph.includes("src/cache.ts"), "the config layer hashes with src/hash.ts");
});

Deno.test("the engine imports no plugin helper from src/steps.ts", () => {
  const engine = sourceFiles("src/engine").filter((f) => !f.endsWith("_test.ts"));
  assert.ok(engine.length > 0);
  for (const file of engine) {
    assert.ok(!relativeImports(file).includes("src/steps.ts"), `${file} imports src/steps.ts`);
  }
});

Deno.test("a module named _* is imported only from its own folder", () => {
  const outside: string[] = [];
  for (const file of sourceFiles()) {
    for (const target of relativeImports(file)) {
      const name = target.split("/").pop()!;
      if (name.startsWith("_") && dirname(target) !== dirname(file)) {
        outside.push(`${file} → ${target}`);
      }
    }
  }
  assert.deepEqual(outside, []);
});

Deno.test("each plugin file lives in the folder of its kind; kt plugins --kind step lists trained-network and saved", async () => {
  const misplaced: string[] = [];
  const files = sourceFiles("plugins").filter((f) =>
    f.split("/").length === 3 && !f.split("/")[2].startsWith("_") && !f.endsWith("_test.ts")
  );
  assert.ok(files.length > 30, "the walk finds the built-in plugin files");
  for (const file of files) {
    const { default: plugin } = await import(join(ROOT, file)) as { default: Plugin };
    const folder = `plugins/${plugin.kind === "loss" ? "losses" : `${plugin.kind}s`}`;
    if (folder !== dirname(file)) misplaced.push(`${file}: a ${plugin.kind} plugin`);
  }
  assert.deepEqual(misplaced, []);
  const steps = describePlugins(builtinPlugins, "step");
  for (const name of ["trained-network", "saved"]) assert.match(steps, new RegExp(`\\b${name}\\b`));
});

Deno.test("plugin files import kt only through mod.ts, and mod.ts loads no plugin", async () => {
  const direct: string[] = [];
  // Tests and their helpers (`_testing.ts`) may reach into kt's modules.
  const tests = (f: string) => f.endsWith("_test.ts") || f.endsWith("/_testing.ts");
  for (const file of sourceFiles("plugins").filter((f) => !tests(f))) {
    for (const target of relativeImports(file)) {
      if (target !== "mod.ts" && !target.startsWith("plugins/")) direct.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(direct, []);
  const graph = await runtimeGraph("mod.ts");
  assert.ok(graph.includes("src/api.ts"), "the walk follows mod.ts's own modules");
  assert.deepEqual(graph.filter((s) => s.startsWith("plugins/")), []);
});
