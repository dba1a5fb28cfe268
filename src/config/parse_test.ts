import assert from "node:assert/strict";
import { parseYaml, sortProblems, type SourceMap, type SourceSeq, toPlain } from "./parse.ts";

Deno.test("parseYaml() keeps the line and column of keys and values at every depth", () => {
  const text = "a: 1\nb:\n  c: [x, {d: 2}]\n";
  const { root, problems } = parseYaml(text, "f.yaml");
  assert.deepEqual(problems, []);
  const map = root as SourceMap;
  assert.deepEqual(map.entries.map((e) => [e.key, e.keyLoc.line, e.keyLoc.col]), [
    ["a", 1, 1],
    ["b", 2, 1],
  ]);
  const c = (map.entries[1].value as SourceMap).entries[0];
  assert.deepEqual([c.keyLoc.line, c.keyLoc.col], [3, 3]);
  const seq = c.value as SourceSeq;
  assert.deepEqual([seq.loc.line, seq.loc.col], [3, 6]);
  assert.deepEqual(seq.items.map((i) => [i.loc.line, i.loc.col]), [[3, 7], [3, 10]]);
  const d = (seq.items[1] as SourceMap).entries[0];
  assert.deepEqual([d.key, d.keyLoc.col, d.value.loc.col], ["d", 11, 14]);
  assert.deepEqual(toPlain(map), { a: 1, b: { c: ["x", { d: 2 }] } });
});

Deno.test("parseYaml() reports duplicate keys at the second one, keeping the first", () => {
  const { root, problems } = parseYaml("k: 1\nk: 2\n", "f.yaml");
  assert.deepEqual(toPlain(root!), { k: 1 });
  assert.equal(problems.length, 1);
  assert.deepEqual([problems[0].line, problems[0].col], [2, 1]);
  assert.match(problems[0].message, /duplicate key "k" \(first defined at 1:1\)/);
});

Deno.test("parseYaml() resolves aliases to their anchored values", () => {
  const { root } = parseYaml("a: &m { use: cnn }\nb: *m\n", "f.yaml");
  assert.deepEqual(toPlain(root!), { a: { use: "cnn" }, b: { use: "cnn" } });
});

Deno.test("parseYaml() returns syntax errors with positions and no tree", () => {
  const { root, problems } = parseYaml("a: [1, 2\nb: 3\n", "f.yaml");
  assert.equal(root, undefined);
  assert.ok(problems.length > 0);
  assert.ok(problems.every((p) => p.message.startsWith("YAML syntax error: ")));
  assert.ok(problems.every((p) => !p.message.includes(" at line ")), "no duplicated position text");
});

Deno.test("parseYaml() rejects non-scalar keys", () => {
  const { problems } = parseYaml("? [a, b]\n: 1\n", "f.yaml");
  assert.equal(problems.length, 1);
  assert.match(problems[0].message, /map keys must be plain names/);
});

Deno.test("sortProblems() orders by line then column and drops exact repeats", () => {
  const p = (line: number, col: number, message: string) => ({ file: "f", line, col, message });
  assert.deepEqual(sortProblems([p(3, 1, "c"), p(1, 9, "b"), p(1, 2, "a"), p(1, 9, "b")]), [
    p(1, 2, "a"),
    p(1, 9, "b"),
    p(3, 1, "c"),
  ]);
});
