import assert from "node:assert/strict";
import { defineLoss, defineStep, pluginSpec, ref, z } from "../api.ts";
import { fakePlugins } from "./_fixtures.ts";
import { createRegistry } from "../registry.ts";
import { parseYaml, Problems, type SourceMap } from "./parse.ts";
import { validateGraph } from "./validate.ts";

const unused = (): never => {
  throw new Error("unused");
};

const registry = createRegistry([
  ...fakePlugins,
  defineStep({
    name: "finetune",
    description: "model may be a node or an inline model",
    output: "model",
    options: z.object({
      data: ref("dataset"),
      model: z.union([ref("model"), pluginSpec("model")]),
      watch: z.array(ref()).default([]),
      loss: pluginSpec("loss").optional(),
    }).strict(),
    run: unused,
  }),
  defineLoss({
    name: "distill-from",
    description: "a loss term that references a teacher node",
    options: z.object({ teacher: ref("model"), weight: z.number().default(1) }).strict(),
    create: unused,
  }),
]);

function check(nodes: string) {
  const { root, problems: syntax } = parseYaml(nodes, "g.yaml");
  assert.deepEqual(syntax, []);
  const problems = new Problems("g.yaml");
  const graph = validateGraph(root as SourceMap, registry, problems);
  return { graph, problems: problems.list.map((p) => `${p.line}:${p.col} ${p.message}`) };
}

Deno.test("a ref-or-inline option treats a string as a node and a map as a plugin", () => {
  const { graph, problems } = check(`train: { use: mnist }
base: { use: trained-network, data: train, model: cnn }
a: { use: finetune, data: train, model: base }
b: { use: finetune, data: train, model: { use: mlp, hidden: [32] } }
`);
  assert.deepEqual(problems, []);
  assert.equal(graph!.nodes.a.options.model, "base");
  assert.deepEqual(graph!.nodes.a.inputs, ["train", "base"]);
  assert.deepEqual(graph!.nodes.b.options.model, {
    use: "mlp",
    kind: "model",
    version: "",
    options: { hidden: [32] },
  });
  assert.deepEqual(graph!.nodes.b.inputs, ["train"]);
});

Deno.test("references inside inline plugins are found, with their option path", () => {
  const { graph, problems } = check(`train: { use: mnist }
t: { use: trained-network, data: train, model: cnn }
s: { use: finetune, data: train, model: { use: cnn }, loss: { use: distill-from, teacher: t } }
`);
  assert.deepEqual(problems, []);
  assert.deepEqual(graph!.nodes.s.refs, [
    { option: "data", node: "train" },
    { option: "loss.options.teacher", node: "t" },
  ]);
  assert.deepEqual(graph!.order, ["train", "t", "s"]);
});

Deno.test("ref() without kinds accepts any node; list items are references too", () => {
  const { graph, problems } = check(`train: { use: mnist }
h: { use: hog }
s: { use: finetune, data: train, model: { use: cnn }, watch: [h, train, nope] }
`);
  assert.equal(graph, undefined);
  assert.deepEqual(problems, [
    `3:73 option "watch.2" of plugin "finetune": unknown node "nope"; nodes: train, h, s`,
  ]);
});

Deno.test("a reference to the wrong kind names both kinds", () => {
  const { problems } = check(`train: { use: mnist }
s: { use: finetune, data: train, model: train }
`);
  assert.deepEqual(problems, [
    `2:41 option "model" of plugin "finetune" must reference a model node, but "train" is a dataset ("mnist")`,
  ]);
});

Deno.test("a self-reference is a cycle of one node", () => {
  const { problems } = check(`train: { use: mnist }
s: { use: finetune, data: train, model: s }
`);
  assert.deepEqual(problems, ["2:41 reference cycle: s -> s"]);
});

Deno.test("node names must be usable in references and option paths", () => {
  const { problems } = check(`my.node: { use: mnist }\n`);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^1:1 node name "my\.node" must start with a letter/);
});
