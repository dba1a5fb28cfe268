import assert from "node:assert/strict";
import { MAX_NAME_LENGTH, nameProblem, pathProblem, safeName } from "./names.ts";

Deno.test("nameProblem() accepts ordinary experiment names", () => {
  for (const name of ["quickstart", "mnist-pkt", "PKT vs KD", "run_2.1", "x"]) {
    assert.equal(nameProblem(name), undefined, name);
  }
});

Deno.test("nameProblem() refuses names that are not one safe directory name", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["x,/,y", /","/],
    ["comma,", /","/],
    ["a/b", /"\/"/],
    ["a\\b", /"\\"/],
    ["..", /"\.\."/],
    ["a..b", /"\.\."/],
    ["-rf", /start with "-"/],
    [" padded ", /spaces/],
    ["tab\there", /control character \(U\+0009\)/],
    ["nul\0", /U\+0000/],
    ["x".repeat(MAX_NAME_LENGTH + 1), /at most 100/],
  ];
  for (const [name, message] of cases) {
    assert.match(nameProblem(name) ?? "accepted", message, JSON.stringify(name));
    assert.equal(nameProblem(safeName(name)), undefined, `suggestion for ${JSON.stringify(name)}`);
  }
});

Deno.test("pathProblem() refuses commas and control characters, accepts other paths", () => {
  assert.equal(pathProblem("/data/kt cache/../x"), undefined);
  assert.match(pathProblem("/data/kt,/")!, /separator of Deno's permission lists/);
  assert.match(pathProblem("a\nb")!, /control character/);
  assert.match(pathProblem("")!, /empty/);
});
