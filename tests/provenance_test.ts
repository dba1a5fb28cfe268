/**
 * Results are never silently stale: a cache key covers the user plugin code a node runs (with
 * the modules it imports) and the bytes of the files its options name. Edit either and `kt plan`
 * says what will run again, `kt cache verify` names the artifacts that no longer match, and a
 * corrupt artifact is never called cached.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { kt, MAIN, sweepArgs, writeTinyData } from "./fixtures/tiny.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

const YAML = `name: provenance
backend: cpu
plugins: [./loss.ts]
nodes:
  train: { use: npy, images: x.npy, labels: y.npy }
  student:
    use: transfer
    data: train
    model: { use: mlp, hidden: [4] }
    loss: scaled-ce
    epochs: 1
    batchSize: 10
  eval: { use: evaluate, model: student, queries: train, database: train, metrics: [accuracy] }
`;

const LOSS = `import * as tf from "@tensorflow/tfjs-core";
import { crossEntropyTerm, defineLoss, z } from "${MOD}";
import { SCALE } from "./scale.ts";

export default defineLoss({
  name: "scaled-ce",
  description: "cross-entropy times SCALE",
  options: z.object({}).strict(),
  create: () => ({
    compute: (inputs) => tf.tidy(() => tf.mul(crossEntropyTerm.compute(inputs), SCALE)),
  }),
});
`;

/** `kt plan` lines of the step nodes: name → "cached" | "to run ...". */
async function plan(file: string, dir: string): Promise<Record<string, string>> {
  const r = await kt(["plan", file, "--cache-dir", join(dir, "cache")], dir);
  assert.equal(r.code, 0, r.stderr);
  const out: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/^ {2}(\w+) +\S+ +[0-9a-f]{12} (.*)$/gm)) out[m[1]] = m[2];
  return out;
}

Deno.test("editing a plugin's imported module or rewriting a data file makes kt plan rerun what depends on it; verify names the stale artifacts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt-provenance-" });
  try {
    await writeTinyData(dir);
    await Deno.writeTextFile(join(dir, "loss.ts"), LOSS);
    await Deno.writeTextFile(join(dir, "scale.ts"), "export const SCALE = 1;\n");
    const file = join(dir, "exp.yaml");
    await Deno.writeTextFile(file, YAML);
    const first = await kt(sweepArgs(file, dir), dir);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await plan(file, dir), { student: "cached", eval: "cached" });

    // The loss's imported module multiplies it by 1000: the student and its evaluation rerun.
    await Deno.writeTextFile(join(dir, "scale.ts"), "export const SCALE = 1000;\n");
    assert.deepEqual(await plan(file, dir), { student: "to run", eval: "to run" });
    const verifyCode = await kt(["cache", "verify", "--cache-dir", join(dir, "cache")], dir);
    assert.equal(verifyCode.code, 1, verifyCode.stdout);
    assert.match(verifyCode.stdout, /: the code of plugin loss:scaled-ce \(.*loss\.ts\) changed/);
    assert.match(verifyCode.stdout, /: built on stale artifact [0-9a-f]{12}\n/);
    // Back as it was: the same content, the same keys, cached again.
    await Deno.writeTextFile(join(dir, "scale.ts"), "export const SCALE = 1;\n");
    assert.deepEqual(await plan(file, dir), { student: "cached", eval: "cached" });

    // New images at the same path (same size): everything downstream reruns.
    await writeTinyData(dir, 2);
    assert.deepEqual(await plan(file, dir), { student: "to run", eval: "to run" });
    const verify = await kt(["cache", "verify", "--cache-dir", join(dir, "cache")], dir);
    assert.equal(verify.code, 1, verify.stdout);
    assert.match(verify.stdout, /stale [0-9a-f]{64}: .*\/x\.npy \(option train\.images\) changed/);
    assert.match(verify.stdout, /0 ok, 0 corrupt, 2 stale/);

    // Manifests record what each artifact was computed from.
    await writeTinyData(dir);
    const manifests: { plugin: string; provenance: Record<string, unknown> }[] = [];
    for await (const top of Deno.readDir(join(dir, "cache"))) {
      if (!/^[0-9a-f]{2}$/.test(top.name)) continue;
      for await (const k of Deno.readDir(join(dir, "cache", top.name))) {
        manifests.push(
          JSON.parse(
            await Deno.readTextFile(join(dir, "cache", top.name, k.name, "manifest.json")),
          ),
        );
      }
    }
    const student = manifests.find((m) => m.plugin === "step:transfer")!;
    assert.deepEqual(Object.keys(student.provenance).sort(), [
      "code",
      "files",
      "inputs",
      "numerics",
    ]);
    assert.deepEqual(Object.keys(student.provenance.code as object), ["loss:scaled-ce"]);
    assert.deepEqual(Object.keys(student.provenance.files as object), [
      "train.images",
      "train.labels",
    ]);
    const evaluation = manifests.find((m) => m.plugin === "step:evaluate")!;
    assert.deepEqual(evaluation.provenance.inputs, [(student as unknown as { key: string }).key]);

    // A corrupt artifact is never "cached".
    assert.deepEqual(await plan(file, dir), { student: "cached", eval: "cached" });
    const evalDir = manifests.find((m) => m.plugin === "step:evaluate")!;
    const key = (evalDir as unknown as { key: string }).key;
    const metrics = join(dir, "cache", key.slice(0, 2), key, "metrics.json");
    const bytes = await Deno.readFile(metrics);
    bytes[2] ^= 0x01;
    await Deno.writeFile(metrics, bytes);
    const after = await plan(file, dir);
    assert.equal(after.student, "cached");
    assert.match(after.eval, /^to run \(cached copy is corrupt: file metrics\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MAIN is this checkout's entry point", () => {
  assert.ok(MAIN.endsWith("/main.ts"));
});
