/**
 * The sandbox, tried by doing the bad thing: a plugin listed in an experiment writes outside
 * `.kt/` and `runs/` directly and through `sh`, from the main process (its top-level code runs
 * while the experiment is loaded) and from a worker (while its dataset loads). Every sweep runs
 * with the exact permission flags of the `sweep` task in deno.json, with `deno` on PATH as a
 * link to this binary (what `npx deno` sets up), in a fresh working directory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const PLUGIN = join(ROOT, "tests/fixtures/sandbox/escape.ts");

/** The permission flags of a deno.json task: the words between `deno run` and `main.ts`. */
function taskFlags(task: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const words = (config.tasks[task] as string).split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  return words.slice(2, words.indexOf("main.ts"));
}

const EXPERIMENT = `name: sandbox
plugins: [${PLUGIN}]
nodes:
  train: { use: escape }
  student: { use: transfer, data: train, model: { use: mlp, hidden: [4] }, epochs: 1, batchSize: 8 }
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  dir: string;
  target: string;
}

/** `deno task sweep` as the task runs it, in a temp dir; `escape` configures the plugin. */
async function sweep(
  escape: { when?: "import" | "load"; how?: "write" | "sh" },
  opts: { denoOnPath?: boolean } = {},
): Promise<Run> {
  const dir = await Deno.makeTempDir({ prefix: "kt-sandbox-" });
  const bin = join(dir, "bin");
  await Deno.mkdir(bin);
  if (opts.denoOnPath ?? true) await Deno.symlink(Deno.execPath(), join(bin, "deno"));
  await Deno.writeTextFile(join(dir, "exp.yaml"), EXPERIMENT);
  const target = join(dir, "outside.txt");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${join(ROOT, "deno.json")}`,
      ...taskFlags("sweep"),
      join(ROOT, "main.ts"),
      "sweep",
      "exp.yaml",
      "--jobs",
      "1",
    ],
    cwd: dir,
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      KT_ESCAPE_TARGET: target,
      KT_ESCAPE_WHEN: escape.when ?? "",
      KT_ESCAPE_HOW: escape.how ?? "",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr), dir, target };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function check(run: Run, body: (run: Run) => void | Promise<void>): Promise<void> {
  try {
    await body(run);
  } finally {
    await Deno.remove(run.dir, { recursive: true });
  }
}

Deno.test("the sweep task names only deno, sbatch, squeue, sacct and scancel in --allow-run (kt: and nvidia-smi)", () => {
  for (const task of ["sweep", "kt"]) {
    const run = taskFlags(task).filter((f) => f.startsWith("--allow-run"));
    const programs = `deno,sbatch,squeue,sacct,scancel${task === "kt" ? ",nvidia-smi" : ""}`;
    assert.deepEqual(run, [`--allow-run=${programs}`], task);
    assert.ok(taskFlags(task).includes("--allow-write=.kt,runs"), task);
  }
  assert.deepEqual(taskFlags("train").filter((f) => f.startsWith("--allow-run")), []);
});

Deno.test("under the task's flags, workers start as `deno` from PATH (as under npx) and train", async () => {
  await check(await sweep({}), async (r) => {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1 trials: 1 finished, 0 failed · ran transfer ×1/);
    assert.ok(await exists(join(r.dir, "runs/sandbox/results.sqlite")));
    assert.ok(await exists(join(r.dir, ".kt/cache")));
  });
});

Deno.test("without this deno on PATH, the sweep says how to fix it and runs nothing", async () => {
  await check(await sweep({}, { denoOnPath: false }), async (r) => {
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: workers are started with this deno \(.+\), which kt may not run: no `deno` is on PATH/m,
    );
    assert.match(r.stderr, /first on PATH \(the tasks allow `deno`\), or run kt with --allow-run=/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    assert.equal(await exists(join(r.dir, "runs")), false);
  });
});

for (const how of ["write", "sh"] as const) {
  const refusal = how === "write"
    ? /Requires write access to "[^"]*outside\.txt"/
    : /Requires run access to "sh"/;

  Deno.test(`a plugin's top-level code cannot escape by ${how} (main process, plan time)`, async () => {
    await check(await sweep({ when: "import", how }), async (r) => {
      assert.equal(r.code, 1);
      assert.equal(await exists(r.target), false, "the file outside was written");
      const line = r.stderr.split("\n").find((l) => l.startsWith("exp.yaml:2:11: "));
      assert.ok(line, r.stderr);
      assert.match(line, /plugin file .*escape\.ts failed to load: .*escape\.ts:\d+:\d+: /);
      assert.match(line, refusal);
      assert.equal(await exists(join(r.dir, "runs")), false, "nothing ran");
    });
  });

  Deno.test(`a plugin cannot escape by ${how} from a worker; the sweep names it`, async () => {
    await check(await sweep({ when: "load", how }), async (r) => {
      assert.equal(r.code, 1);
      assert.equal(await exists(r.target), false, "the file outside was written");
      const line = r.stderr.split("\n").find((l) => l.startsWith("  failed: seed=0: "));
      assert.ok(line, r.stderr);
      assert.match(
        line,
        /escape\.ts:\d+:\d+: dataset plugin "escape" of node "train" \(exp\.yaml:4:3\) failed: NotCapable: /,
      );
      assert.match(line, refusal);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    });
  });
}
