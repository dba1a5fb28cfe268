/**
 * kt runs from any folder: `deno task install` installs a `kt` command with the `kt` task's
 * permissions and kt's own config, and that command — run here as it runs (`deno run` with the
 * same flags, from the folder that holds an experiment and a plugin) — resolves the experiment's
 * relative paths against its file, writes `.kt/` and `runs/` in the working directory and says
 * where it looked, with absolute paths, for files it cannot find.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import denoConfig from "../deno.json" with { type: "json" };

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");
const MOD = new URL("../mod.ts", import.meta.url).href;

/** The words of a deno.json task. */
function task(name: "kt" | "install"): string[] {
  return (denoConfig.tasks[name] as string).split(/\s+/);
}

/** The permission flags the installed command runs with: the install task's, after its config. */
function installedFlags(): string[] {
  const words = task("install");
  return words.slice(words.indexOf("deno.json") + 1, words.indexOf("main.ts"));
}

/** `kt <args>` as the installed command runs it (its flags, kt's config), in `cwd`. */
async function kt(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", join(ROOT, "deno.json"), ...installedFlags(), MAIN, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** A dataset plugin of its own, so the folder needs no data file. */
const PLUGIN = `import { defineDataset, z } from "${MOD}";

export default defineDataset({
  name: "toy",
  description: "24 samples of 4×4×1 in 2 classes",
  options: z.object({}).strict(),
  load: () => {
    const y = Int32Array.from({ length: 24 }, (_, i) => i % 2);
    const x = Float32Array.from({ length: 24 * 16 }, (_, i) => ((i * 7) % 13) / 13 + y[i >> 4]);
    return Promise.resolve({ name: "toy", x, y, shape: [4, 4, 1], size: 24, numClasses: 2 });
  },
});
`;

const EXPERIMENT = `name: toy
backend: cpu
plugins: [./toy_data.ts]
nodes:
  data: { use: toy }
  student: { use: transfer, data: data, model: { use: mlp, hidden: [4] }, epochs: 1, batchSize: 8 }
  eval: { use: evaluate, model: student, queries: data, database: data, metrics: [accuracy] }
`;

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("deno task install installs kt with the kt task's permissions and kt's config", () => {
  const words = task("install");
  assert.deepEqual(words.slice(0, 2), ["deno", "install"]);
  for (const flag of ["--global", "--force"]) assert.ok(words.includes(flag), flag);
  assert.deepEqual(words.slice(words.indexOf("--name"), words.indexOf("--name") + 2), [
    "--name",
    "kt",
  ]);
  assert.equal(words[words.indexOf("--config") + 1], "deno.json");
  assert.equal(words.at(-1), "main.ts");
  const kt = task("kt");
  assert.deepEqual(installedFlags(), kt.slice(2, kt.indexOf("main.ts")));
  assert.ok(installedFlags().includes("--allow-write=.kt,runs"));
});

Deno.test("kt runs in a folder holding only an experiment and its plugin, and writes there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-anywhere-" });
  try {
    await Deno.writeTextFile(join(dir, "toy_data.ts"), PLUGIN);
    await Deno.writeTextFile(join(dir, "x.yaml"), EXPERIMENT);
    const run = await kt(["sweep", "x.yaml"], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /accuracy/);
    assert.match(run.stderr, new RegExp(`results: ${join(dir, "runs/toy/results.sqlite")}`));
    assert.deepEqual(await names(dir), [".kt", "runs", "toy_data.ts", "x.yaml"]);
    assert.deepEqual(await names(join(dir, "runs")), ["toy"]);
    assert.ok((await names(join(dir, ".kt"))).includes("cache"));

    // From a folder below: the plugin is found beside the experiment, not in the working
    // directory, and the experiment and its run directory are named with absolute paths.
    const sub = join(dir, "sub");
    await Deno.mkdir(sub);
    const plan = await kt(["plan", "../x.yaml"], sub);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /trial/);
    const missing = await kt(["plan", "nothere.yaml"], sub);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(`^error: cannot read experiment file ${join(sub, "nothere.yaml")}: not found`),
    );
    const noRun = await kt(["results", "runs/toy"], sub);
    assert.equal(noRun.code, 1);
    assert.match(noRun.stderr, new RegExp(`no results database in ${join(sub, "runs/toy")}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kt --version prints kt's version and Deno's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-version-" });
  try {
    const r = await kt(["--version"], dir);
    assert.equal(r.code, 0, r.stderr);
    const [ktLine, denoLine] = r.stdout.trim().split("\n");
    assert.match(ktLine, new RegExp(`^kt ${denoConfig.version.replaceAll(".", "\\.")}( \\(|$)`));
    assert.match(denoLine, new RegExp(`^deno ${Deno.version.deno.replaceAll(".", "\\.")} \\(v8 `));
    assert.deepEqual(await names(dir), [], "--version writes nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
