/**
 * The bad-input corpus: mistakes a user can make in an experiment file, a data file, a plugin
 * or a command-line flag, each run through the real CLI entry (`runCli` with the built-in
 * plugins, as `main.ts` runs it). Every one must end in one clear error — what, where
 * (`file:line:col` for YAML, the flag for flags, the plugin's own source line for plugin code),
 * how to fix it — with exit code 1, no stack trace, and nothing trained.
 *
 * - `tests/fixtures/bad_input/yaml/*.yaml` (`kt plan` on each): exactly the problems announced
 *   by its `# expect: line:col text` lines, the convention of `tests/fixtures/bad_yaml` (whose
 *   fake-plugin cases `src/config/bad_yaml_test.ts` runs). Paths `data/...` name files this test
 *   writes beside the copy it plans; `@PLUGINS@` is `tests/fixtures/bad_input/plugins`.
 * - {@linkcode FILES}: experiment files that are not a readable YAML file.
 * - {@linkcode FLAGS}: bad command-line flags.
 * - {@linkcode RUNS}: plugins that fail in their functions during `kt sweep --executor inline`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../src/cli.ts";
import { builtinPlugins } from "../plugins/mod.ts";
import { expectations, expectedLines } from "./fixtures/expectations.ts";
import { idxBytes, npyBytes } from "./fixtures/datasets.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");
const FIXTURES = join(ROOT, "tests/fixtures/bad_input");

/** What `kt <args>` printed and returned, run in this process with its output captured. */
interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function kt(args: string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn };
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  console.warn = console.error;
  let code: number;
  try {
    code = await runCli(args, builtinPlugins, { entry: MAIN });
  } finally {
    Object.assign(console, saved);
  }
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Exit code 1, no stack trace, at most `maxLines` lines of errors. */
function assertOneError(r: Outcome, maxLines = 30): void {
  assert.equal(r.code, 1, `exit code\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace:\n${r.stderr}`);
  assert.ok(r.stderr.split("\n").length <= maxLines, `bounded output:\n${r.stderr}`);
}

// ------------------------------------------------------------------ data files the YAML names

const f32 = (n: number) => Array.from({ length: n }, (_, i) => (i % 7) / 7);

/** The files `data/...` in the fixtures name (a FIFO and a directory among them). */
async function writeData(dir: string): Promise<void> {
  const data = join(dir, "data");
  await Deno.mkdir(data, { recursive: true });
  const x28 = npyBytes("<f4", [4, 28, 28], f32(4 * 784));
  const files: Record<string, Uint8Array> = {
    "x28.npy": x28,
    "x32.npy": npyBytes("<f4", [4, 32, 32, 3], f32(4 * 3072)),
    "vec.npy": npyBytes("<f4", [4, 784], f32(4 * 784)),
    "x0.npy": npyBytes("<f4", [0, 28, 28], []),
    "y0.npy": npyBytes("<i4", [0], []),
    "y4.npy": npyBytes("<i4", [4], [0, 1, 0, 1]),
    "y3.npy": npyBytes("<i4", [3], [0, 1, 0]),
    "short.npy": x28.subarray(0, x28.length - 5),
    "long.npy": Uint8Array.from([...x28, 0, 0, 0, 0]),
    "text.npy": new TextEncoder().encode("images, one per line\n"),
    "i2.npy": npyBytes("<i2", [0], []),
    "fortran.npy": npyBytes("<f4", [2, 2], [1, 2, 3, 4], { fortran: true }),
    "noshape.npy": Uint8Array.from([
      0x93,
      ...new TextEncoder().encode("NUMPY"),
      1,
      0,
      22,
      0,
      ...new TextEncoder().encode("{'descr': '<f4'}     \n"),
    ]),
    "bighead.npy": Uint8Array.from([
      0x93,
      ...new TextEncoder().encode("NUMPY"),
      2,
      0,
      0xff,
      0xff,
      0xff,
      0x7f,
    ]),
    "feat4.npy": npyBytes("<f4", [4, 8], f32(32)),
    "feat_i4.npy": npyBytes("<i4", [4, 8], Array(32).fill(1)),
    "logits3.npy": npyBytes("<f4", [3, 10], f32(30)),
    "raw7.bin": new Uint8Array(7),
    "images.idx": idxBytes(0x08, [4, 2, 2], Array(16).fill(9)),
    "labels.idx": idxBytes(0x08, [4], [0, 1, 0, 1]),
    "trunc.idx": idxBytes(0x08, [4000, 28, 28], Array(16).fill(0)),
  };
  for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(join(data, name), bytes);
  await mkfifo(join(data, "fifo"));
  // Plugins that cannot be committed as they are: they would break `deno check tests/`.
  await Deno.writeTextFile(join(dir, "syntax_error.ts"), 'export default {\n  name: "x",,\n};\n');
  await Deno.writeTextFile(
    join(dir, "missing_import.ts"),
    'import { helper } from "./no_such_helper.ts";\nexport default helper;\n',
  );
}

async function mkfifo(path: string): Promise<void> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, "mkfifo is needed for the FIFO cases");
}

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kt-bad-input-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ------------------------------------------------------------------ YAML fixtures

const yamlDir = join(FIXTURES, "yaml");
const yamlFiles = [...Deno.readDirSync(yamlDir)]
  .filter((e) => e.isFile && e.name.endsWith(".yaml"))
  .map((e) => e.name)
  .sort();

for (const name of yamlFiles) {
  Deno.test(`kt plan ${name}: the announced problems at their line:col, nothing else`, () =>
    withDir(async (dir) => {
      const text = (await Deno.readTextFile(join(yamlDir, name)))
        .replaceAll("@PLUGINS@", join(FIXTURES, "plugins"))
        .replaceAll("@TMP@", dir);
      const expected = expectations(text);
      assert.ok(expected.length > 0, `${name} announces no problem`);
      await writeData(dir);
      const path = join(dir, name);
      await Deno.writeTextFile(path, text);
      const r = await kt(["plan", path, "--cache-dir", join(dir, "cache")]);
      assertOneError(r);
      const problems = r.stderr.split("\n").filter((l) => l.startsWith(`${path}:`));
      const shown = `${r.stderr}`;
      for (const x of expected) {
        const at = `${path}:${x.line}:${x.col}: `;
        assert.ok(
          problems.some((p) => p.startsWith(at) && p.includes(x.text)),
          `missing "${x.line}:${x.col} ${x.text}" in:\n${shown}`,
        );
      }
      for (const line of expectedLines(text)) {
        assert.ok(r.stderr.split("\n").includes(line), `missing line "${line}" in:\n${shown}`);
      }
      assert.equal(problems.length, expected.length, `unexpected problems:\n${shown}`);
      assert.equal(r.stdout, "", "plan printed no trials");
    }));
}

// ------------------------------------------------------------------ experiment files

/** Experiment files that are not a readable YAML file: the error names the path. */
const FILES: { name: string; make: (dir: string) => Promise<string>; message: string }[] = [
  {
    name: "a FIFO",
    make: async (dir) => {
      await mkfifo(join(dir, "exp.yaml"));
      return join(dir, "exp.yaml");
    },
    message: "is a FIFO (named pipe); expected a regular file — name the experiment's .yaml file",
  },
  {
    name: "a directory",
    make: (dir) => Promise.resolve(dir),
    message: "is a directory; expected a regular file — name the experiment's .yaml file",
  },
  {
    name: "a device",
    make: () => Promise.resolve("/dev/zero"),
    message: "is a device; expected a regular file — name the experiment's .yaml file",
  },
  {
    name: "over 1 MB",
    make: async (dir) => {
      await Deno.writeTextFile(join(dir, "exp.yaml"), `name: big\n# ${"x".repeat(1_100_000)}\n`);
      return join(dir, "exp.yaml");
    },
    message: "is 1.1 MB; an experiment file may hold at most 1 MB — describe the experiment's " +
      "graph in YAML; keep data in data files",
  },
  {
    name: "missing",
    make: (dir) => Promise.resolve(join(dir, "nope.yaml")),
    message: "not found — name the experiment's .yaml file",
  },
  {
    name: "100,001 values without an alias",
    make: async (dir) => {
      const list = Array(100_001).fill("1").join(", ");
      await Deno.writeTextFile(join(dir, "exp.yaml"), `name: wide\nx: [${list}]\nnodes: {}\n`);
      return join(dir, "exp.yaml");
    },
    message: "2:299996: the file holds more than 100000 values; an experiment needs far fewer",
  },
];

for (const c of FILES) {
  Deno.test(`kt plan on an experiment file that is ${c.name} says so`, () =>
    withDir(async (dir) => {
      const path = await c.make(dir);
      const r = await kt(["plan", path]);
      assertOneError(r, 3);
      const line = c.message.match(/^\d+:\d+: /)
        ? `${path}:${c.message}`
        : `error: cannot read experiment file ${path}: ${c.message}`;
      assert.ok(r.stderr.split("\n").includes(line), `expected "${line}" in:\n${r.stderr}`);
    }));
}

// ------------------------------------------------------------------ command-line flags

/** Bad flags: the error names the flag and its value, what it expects, and an example. */
const FLAGS: { args: string[]; error: string }[] = [
  {
    args: ["plugins", "--kind", "foo"],
    error:
      '--kind "foo": expected one of dataset, model, teacher, loss, metric, step, executor — e.g. --kind dataset',
  },
  {
    args: ["cache", "gc", "--older-than", "soon"],
    error: '--older-than "soon": expected a number >= 0 — e.g. --older-than 30',
  },
  {
    args: ["sweep", "x.yaml", "--jobs", "0"],
    error: '--jobs "0": expected a whole number >= 1 and <= 1024 — e.g. --jobs 2',
  },
  {
    args: ["sweep", "x.yaml", "--jobs", "x"],
    error: '--jobs "x": expected a whole number >= 1 and <= 1024 — e.g. --jobs 2',
  },
  {
    args: ["sweep", "x.yaml", "-j", "1.5"],
    error: '--jobs "1.5": expected a whole number >= 1 and <= 1024 — e.g. --jobs 2',
  },
  {
    args: ["sweep", "x.yaml", "--format", "xml"],
    error: '--format "xml": expected one of text, md, markdown, csv, json — e.g. --format text',
  },
  {
    args: ["sweep", "x.yaml", "--cache-dir", "/tmp/kt,/"],
    error:
      `--cache-dir "/tmp/kt,/": a directory path must not contain "," (the separator of Deno's permission lists) — e.g. --cache-dir .kt/cache`,
  },
  {
    args: ["sweep", "x.yaml", "--run-dir", "runs/a\nb"],
    error:
      '--run-dir "runs/a\\nb": a directory path must not contain a control character (U+000A) — e.g. --run-dir runs/my-run',
  },
  {
    args: ["sweep", "x.yaml", "--executor-options", "jobs=2"],
    error:
      `--executor-options "jobs=2": expected a JSON object: Unexpected token 'j', "jobs=2" is not valid JSON — e.g. --executor-options '{"jobs":2}'`,
  },
  {
    args: ["train", "--epochs", "x"],
    error: '--epochs "x": expected a whole number >= 1 and <= 1000000 — e.g. --epochs 5',
  },
  {
    args: ["train", "--epochs", "0"],
    error: '--epochs "0": expected a whole number >= 1 and <= 1000000 — e.g. --epochs 5',
  },
  {
    args: ["train", "--batch-size", "0"],
    error: '--batch-size "0": expected a whole number >= 1 and <= 1000000 — e.g. --batch-size 128',
  },
  { args: ["train", "--lr", "-1"], error: '--lr "-1": expected a number > 0 — e.g. --lr 0.001' },
  {
    args: ["train", "--lr", "fast"],
    error: '--lr "fast": expected a number > 0 — e.g. --lr 0.001',
  },
  {
    args: ["train", "--beta1", "1"],
    error: '--beta1 "1": expected a number >= 0 and < 1 — e.g. --beta1 0.9',
  },
  {
    args: ["train", "--epsilon", "0"],
    error: '--epsilon "0": expected a number > 0 — e.g. --epsilon 1e-8',
  },
  {
    args: ["train", "--seed", "-3"],
    error: '--seed "-3": expected a whole number >= 0 — e.g. --seed 0',
  },
  {
    args: ["train", "--limit", "0"],
    error: '--limit "0": expected a whole number >= 1 — e.g. --limit 1000',
  },
  {
    args: ["train", "--threads", "0"],
    error: '--threads "0": expected a whole number >= 1 and <= 1024 — e.g. --threads 2',
  },
  {
    args: ["train", "--optimizer", "adamw"],
    error: '--optimizer "adamw": expected one of adam, sgd — e.g. --optimizer adam',
  },
  {
    args: ["train", "--data-options", "x"],
    error:
      `--data-options "x": expected a JSON object: Unexpected token 'x', "x" is not valid JSON — e.g. --data-options '{"limit":1000}'`,
  },
  {
    args: ["train", "--data-options", "[1000]"],
    error:
      `--data-options "[1000]": expected a JSON object in braces — e.g. --data-options '{"limit":1000}'`,
  },
  {
    args: ["train", "--backend", "cpu", "--model-options", '{"filtrs":[8]}'],
    error:
      '--model-options: invalid options for cnn: (root): Unrecognized key: "filtrs" — run `deno task kt plugins` to see each plugin\'s options',
  },
  {
    args: [
      "train",
      "--backend",
      "cpu",
      "--data",
      "mnist",
      "--model-options",
      '{"dense":[1000000000]}',
    ],
    error:
      "--model-options: dense.0: fc1 has 1.6e+12 parameters; training the model (1.6e+12 in all) needs about 26 TB of memory, more than the ",
  },
  {
    args: ["train", "--backend", "cpu", "--model-options", '{"kernelSize":100}'],
    error:
      "--model-options: kernelSize: kernelSize 100 is larger than the 28×28 input — use a kernelSize of 28 or less; 3 is usual",
  },
];

for (const c of FLAGS) {
  Deno.test(`kt ${c.args.map((a) => JSON.stringify(a)).join(" ")} names the flag`, async () => {
    const r = await kt(c.args);
    assertOneError(r, 3);
    const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
    assert.ok(
      line?.startsWith(`error: ${c.error}`),
      `expected "error: ${c.error}", got:\n${r.stderr}`,
    );
  });
}

// ------------------------------------------------------------------ plugins failing at run time

/** Plugins whose functions throw while a job runs: named, at their own source line. */
const RUNS: { name: string; yaml: string; failure: RegExp }[] = [
  {
    name: "a dataset plugin's load()",
    yaml: `name: run
plugins: [${join(FIXTURES, "plugins/load_throws.ts")}]
nodes:
  train: { use: load-throws }
  student: { use: transfer, data: train, model: { use: mlp, hidden: [4] }, epochs: 1 }
`,
    failure:
      /^ {2}failed: seed=0: student: .*load_throws\.ts:5:33: dataset plugin "load-throws" of node "train" \(.*run\.yaml:4:3\) failed: RangeError: no bytes to decode$/,
  },
  {
    name: "a loss plugin's compute()",
    yaml: `name: run
plugins: [${join(FIXTURES, "plugins/loss_throws.ts")}, ${
      join(ROOT, "tests/fixtures/sandbox/escape.ts")
    }]
nodes:
  train: { use: escape }
  student: { use: transfer, data: train, model: { use: mlp, hidden: [4] }, loss: loss-throws, epochs: 1 }
`,
    failure:
      /^ {2}failed: seed=0: student: .*loss_throws\.ts:10:13: step plugin "transfer" of node "student" \(.*run\.yaml:5:3\) failed: teacher features missing in batch$/,
  },
];

/** `kt sweep <path> --executor inline` with its cache and run directories in `dir`. */
function sweepInline(path: string, dir: string, flags: string[] = []): Promise<Outcome> {
  const dirs = ["--cache-dir", join(dir, "cache"), "--run-dir", join(dir, "run")];
  return kt([...flags, "sweep", path, "--executor", "inline", ...dirs]);
}

/** The `  failed: <trial>: <reason>` lines of a sweep's summary. */
function failures(r: Outcome): string[] {
  return r.stderr.split("\n").filter((l) => l.startsWith("  failed: "));
}

Deno.test("kt sweep: a saved model whose model.json is a FIFO is refused, not waited on", () =>
  withDir(async (dir) => {
    await mkfifo(join(dir, "model.json"));
    const path = join(dir, "run.yaml");
    await Deno.writeTextFile(
      path,
      `name: saved
nodes:
  teacher: { use: saved, path: ${dir} }
  train: { use: mnist, limit: 100 }
  eval: { use: evaluate, model: teacher, queries: train, database: train, metrics: [retrieval] }
`,
    );
    const r = await sweepInline(path, dir);
    assertOneError(r);
    assert.deepEqual(failures(r), [
      `  failed: seed=0: teacher: ${path}:3:3: cannot read ${dir}/model.json: is a FIFO (named pipe); ` +
      "expected a regular file — point to a directory holding model.json and its weight files " +
      "(tfjs layers format)",
    ]);
  }));

for (const c of RUNS) {
  Deno.test(`kt sweep: ${c.name} throwing is reported at the plugin's own line`, () =>
    withDir(async (dir) => {
      const path = join(dir, "run.yaml");
      await Deno.writeTextFile(path, c.yaml);
      const r = await sweepInline(path, dir);
      assertOneError(r);
      const lines = failures(r);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], c.failure);
    }));
}

Deno.test("kt --debug sweep: the same failure with the plugin's stack trace", () =>
  withDir(async (dir) => {
    const path = join(dir, "run.yaml");
    await Deno.writeTextFile(path, RUNS[0].yaml);
    try {
      const r = await sweepInline(path, dir, ["--debug"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ {2}failed: seed=0: student: .*load_throws\.ts:5:33: /m);
      assert.match(
        r.stderr,
        /^RangeError: no bytes to decode\n\s+at decode \(.*load_throws\.ts:5:33\)/m,
      );
    } finally {
      Deno.env.delete("KT_DEBUG");
    }
  }));

Deno.test("the corpus holds at least 60 distinct cases", () => {
  // + the --debug run and the saved-model FIFO
  const count = yamlFiles.length + FILES.length + FLAGS.length + RUNS.length + 2;
  assert.ok(count >= 60, `only ${count} cases`);
});
