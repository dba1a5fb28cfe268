import assert from "node:assert/strict";
import { fakeRegistry } from "./_fixtures.ts";
import { expandTrials, parseSweep, substitute, trialLabel } from "./expand.ts";
import { parseYaml, Problems, type SourceMap, type SourceValue, toPlain } from "./parse.ts";

function source(yaml: string): SourceValue {
  const { root, problems } = parseYaml(yaml, "s.yaml");
  assert.deepEqual(problems, []);
  return root!;
}

function messages(p: Problems): string[] {
  return p.list.map((x) => `${x.line}:${x.col} ${x.message}`);
}

Deno.test("parseSweep() reads grid, random and seeds", () => {
  const problems = new Problems("s.yaml");
  const spec = parseSweep(
    source(`grid: { method: [pkt, hinton], "student.epochs": [5] }
random: { count: 3, space: { lr: { loguniform: [0.0001, 0.1] }, k: { choice: [1, 2] } } }
seeds: [0, 1, 2]
`),
    problems,
  );
  assert.deepEqual(problems.list, []);
  assert.deepEqual(spec.grid.map((a) => [a.name, a.target, a.values.length]), [
    ["method", "variable", 2],
    ["student.epochs", "path", 1],
  ]);
  assert.equal(spec.random!.count, 3);
  assert.equal(spec.random!.seed, 0);
  assert.deepEqual(spec.random!.axes.map((a) => a.distribution), [
    { loguniform: [0.0001, 0.1] },
    { choice: [1, 2] },
  ]);
  assert.deepEqual(spec.seeds, [0, 1, 2]);
});

Deno.test("parseSweep() reports bad axes, duplicates, unknown keys and a seed axis", () => {
  const problems = new Problems("s.yaml");
  parseSweep(
    source(`grid: { a: 3, seed: [1], "x..y": [1], b: [1] }
random: { count: 0, space: { b: { uniform: [0, 1] } } }
seed: [1]
`),
    problems,
  );
  assert.deepEqual(messages(problems), [
    `1:12 sweep axis "a" needs a list of values, got number 3`,
    `1:15 sweep axis "seed": sweep seeds with "seeds: [0, 1, 2]"`,
    `1:26 sweep axis "x..y" is neither a variable name (used as \${name}) nor an option path like "student.epochs"`,
    `2:18 sweep.random.count must be an integer >= 1, got number 0`,
    `2:30 sweep axis "b" is defined twice (first at 1:39)`,
    `3:1 unknown key "seed" in sweep; did you mean "seeds"?`,
  ]);
});

Deno.test("substitute() keeps types for whole-string variables and copies only what changes", () => {
  const problems = new Problems("s.yaml");
  const tree = source(`a: "\${x}"\nb: "x=\${x} y=\${y}"\nc: { d: 1 }\ne: "$\${x}"\n`);
  const vars = new Map<string, SourceValue>([
    ["x", source("[1, 2]")],
    ["y", source("2.5")],
  ]);
  const out = substitute(tree, vars, problems) as SourceMap;
  assert.deepEqual(toPlain(out), { a: [1, 2], b: "x=${x} y=2.5", c: { d: 1 }, e: "${x}" });
  assert.deepEqual(messages(problems), [`2:4 cannot write a list into a string ("\${x}")`]);
  assert.equal(out.entries[2], (tree as SourceMap).entries[2], "untouched subtree is shared");
});

Deno.test("trialLabel() lists params in order, then the seed", () => {
  assert.equal(
    trialLabel({ method: "pkt", "s.lr": 0.000123456, n: 3 }, 2),
    "method=pkt s.lr=0.0001235 n=3 seed=2",
  );
  assert.equal(trialLabel({ m: { use: "cnn" } }, 0), "m=cnn seed=0");
  assert.equal(
    trialLabel({ m: { use: "hinton", form: "official", temperature: 2 } }, 0),
    "m=hinton(form=official, temperature=2) seed=0",
  );
  assert.equal(trialLabel({ k: [1, 2] }, 1), "k=[1,2] seed=1");
});

Deno.test("expandTrials() draws int and choice axes within their ranges", () => {
  const problems = new Problems("s.yaml");
  const nodes = source(`train: { use: mnist, limit: "\${n}" }
student: { use: transfer, data: train, model: cnn }
`) as SourceMap;
  const sweep = parseSweep(
    source(
      `random: { count: 20, seed: 1, space: { n: { int: [2, 400] }, "student.loss": { choice: [pkt, hinton] } } }`,
    ),
    problems,
  );
  const trials = expandTrials(nodes, sweep, fakeRegistry(), problems);
  assert.deepEqual(problems.list, []);
  assert.equal(trials.length, 20);
  const ns = new Set(trials.map((t) => t.params.n));
  const losses = new Set(trials.map((t) => t.params["student.loss"]));
  assert.ok(
    [...ns].every((n) => typeof n === "number" && Number.isInteger(n) && n >= 2 && n <= 400),
  );
  assert.ok(ns.size > 15, "20 draws from 399 integers spread out (seeded)");
  assert.deepEqual([...losses].sort(), ["hinton", "pkt"]);
  for (const t of trials) {
    assert.equal(t.graph.nodes.train.options.limit, t.params.n);
    assert.equal(
      (t.graph.nodes.student.options.loss as { use: string }).use,
      t.params["student.loss"],
    );
  }
});

Deno.test("expandTrials() refuses sweeps beyond MAX_TRIALS", () => {
  const problems = new Problems("s.yaml");
  const nodes = source(
    `train: { use: mnist }\nstudent: { use: transfer, data: train, model: cnn }\n`,
  ) as SourceMap;
  const sweep = parseSweep(
    source(`random: { count: 100001, space: { "student.epochs": { int: [1, 9] } } }`),
    problems,
  );
  assert.deepEqual(expandTrials(nodes, sweep, fakeRegistry(), problems), []);
  assert.match(messages(problems)[0], /expands to 100001 trials; at most 100000/);
});

Deno.test("expandTrials() reports random draws that repeat a trial, at the random axis", () => {
  const problems = new Problems("s.yaml");
  const nodes = source(`train: { use: mnist, limit: "\${n}" }\n`) as SourceMap;
  const sweep = parseSweep(
    source(`random: { count: 20, seed: 1, space: { n: { int: [2, 4] } } }`),
    problems,
  );
  assert.deepEqual(expandTrials(nodes, sweep, fakeRegistry(), problems), []);
  assert.equal(problems.list.length, 1);
  assert.deepEqual([problems.list[0].line, problems.list[0].col], [1, 40]);
  assert.match(
    problems.list[0].message,
    /the sweep makes trial "n=\d seed=0" twice; random draws repeat/,
  );
});

Deno.test("parseSweep() reports grid values listed twice or printing alike in labels", () => {
  const problems = new Problems("s.yaml");
  parseSweep(
    source(`grid: { method: [pkt, hinton, pkt, { use: hinton }], lr: [0.0001, 0.00010001] }`),
    problems,
  );
  const shown = problems.list.map((p) => `${p.line}:${p.col} ${p.message}`);
  assert.equal(shown.length, 3, shown.join("\n"));
  assert.match(shown[0], /^1:31 sweep axis "method" lists pkt twice \(first at 1:18\)/);
  assert.match(
    shown[1],
    /^1:36 sweep axis "method": \{"use":"hinton"\} shows as "hinton" in trial labels/,
  );
  assert.match(
    shown[2],
    /^1:67 sweep axis "lr": 0.00010001 shows as "0.0001" .* first 4 significant digits/,
  );
});
