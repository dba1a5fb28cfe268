/** The command line on bad input: one line saying what and how to fix, non-zero exit, nothing run. */
import assert from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function kt(args: string[], cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("kt train with an unknown backend exits 1 with one line naming the valid ones", async () => {
  const r = await kt(["train", "--backend", "wsam"]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^error: unknown backend "wsam"; did you mean "wasm"\? — choose one of: auto, wasm/,
  );
});

Deno.test("kt train with an unknown dataset suggests the close name", async () => {
  const r = await kt(["train", "--backend", "cpu", "--data", "mnsit"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown dataset "mnsit"; did you mean "mnist"\?/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
});

Deno.test("kt train with the tensorflow-gpu backend missing names the install command", async () => {
  const r = await kt(["train", "--backend", "tensorflow-gpu"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /deno install --allow-scripts=npm:@tensorflow\/tfjs-node-gpu/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

Deno.test("kt sweep on a broken file reports file:line:col and runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "bad.yaml");
    await Deno.writeTextFile(
      file,
      "name: bad\nnodes:\n  train: { use: mnist }\n  student:\n    use: transfer\n    data: train\n" +
        "    model: { use: cnn }\n    loss: pkt2\n",
    );
    const r = await kt([
      "sweep",
      file,
      "--cache-dir",
      join(dir, "cache"),
      "--run-dir",
      join(dir, "run"),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file}:8:11: unknown loss "pkt2"; did you mean "pkt"\\?`));
    assert.equal(r.stdout, "");
    for (const sub of ["cache", "run"]) {
      await assert.rejects(
        () => Deno.stat(join(dir, sub)),
        Deno.errors.NotFound,
        `${sub} was created`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kt sweep with a bad override names it (and the column), and runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(
      file,
      "name: ok\nnodes:\n  train: { use: mnist, limit: 100 }\n  student:\n    use: transfer\n" +
        "    data: train\n    model: { use: mlp, hidden: [4] }\n    epochs: 1\n",
    );
    const dirs = ["--cache-dir", join(dir, "cache"), "--run-dir", join(dir, "run")];
    const r = await kt(["sweep", file, "student.epochs=0", ...dirs]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /override "student\.epochs=0" \(col 16\): option "epochs" of plugin "transfer": .*>= 1/,
    );
    assert.equal(r.stdout, "");
    const sweep = await kt(["sweep", file, "sweep.seedz=[1]", ...dirs]);
    assert.match(
      sweep.stderr,
      /override "sweep\.seedz=\[1\]" \(col 7\): unknown key "seedz" in sweep; did you mean "seeds"\?/,
    );
    await assert.rejects(() => Deno.stat(join(dir, "run")), Deno.errors.NotFound);
    // The plan shows the override applied.
    const plan = await kt(["plan", file, "sweep.seeds=[3,4]", "--cache-dir", join(dir, "cache")]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^ok: 2 trial\(s\)/);
    assert.match(plan.stdout, /trial \w+ seed=3\n[^]*trial \w+ seed=4/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kt plugins lists every kind with options", async () => {
  const r = await kt(["plugins"]);
  assert.equal(r.code, 0);
  for (const name of ["mnist", "cnn", "pkt", "hinton", "retrieval", "transfer", "hog", "slurm"]) {
    assert.match(r.stdout, new RegExp(`^  ${name} `, "m"), name);
  }
  assert.match(r.stdout, /kernel: "cosine" \| "rbf"/);
  assert.deepEqual(
    r.stdout.split("\n").filter((l) => /^\S/.test(l)),
    ["datasets:", "models:", "teachers:", "losses:", "metrics:", "steps:", "executors:"],
  );
});

Deno.test("kt plugins --kind loss gives each loss's paper and what it reads", async () => {
  const r = await kt(["plugins", "--kind", "loss"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^losses:\n/);
  assert.match(
    r.stdout,
    /^ {2}rkd \(v\d+\) — .*\n {4}paper: Park et al\., CVPR 2019 · reads: representation, labels\n/m,
  );
  assert.match(r.stdout, /^ {2}none \(v\d+\) — .*\n {4}reads: logits, labels\n/m);
  assert.doesNotMatch(r.stdout, /^datasets:/m);
});

Deno.test("a crashed worker is summarised by its error line and first frame, without colours", async () => {
  const { crashSummary } = await import("../plugins/executors/local.ts");
  const stderr =
    "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Uncaught (in promise) TypeError: x is not a function\n" +
    "    at run (file:///a/b.ts:3:5)\n    at async main (file:///a/c.ts:9:1)\n";
  assert.equal(
    crashSummary(stderr),
    "error: Uncaught (in promise) TypeError: x is not a function | at run (file:///a/b.ts:3:5)",
  );
  assert.equal(crashSummary("one\ntwo\nthree\nfour\n"), "two | three | four");
});
