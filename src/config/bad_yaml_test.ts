/**
 * Table-driven test over tests/fixtures/bad_yaml/*.yaml: every broken experiment file must fail
 * with exactly the problems its header announces (`# expect: line:col message`), each at that
 * exact position, and nothing else.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { ConfigError, loadExperiment, type Problem } from "./mod.ts";
import { fakeRegistry } from "./_fixtures.ts";
import { expectations } from "../../tests/fixtures/expectations.ts";

const dir = fileURLToPath(new URL("../../tests/fixtures/bad_yaml/", import.meta.url));

const files = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".yaml"))
  .map((e) => e.name)
  .sort();

Deno.test("the bad-input corpus has at least 18 files, each with expectations", () => {
  assert.ok(files.length >= 18, `only ${files.length} fixtures`);
  for (const f of files) {
    assert.ok(expectations(Deno.readTextFileSync(join(dir, f))).length > 0, `${f} expects nothing`);
  }
});

for (const name of files) {
  Deno.test(`loadExperiment() rejects ${name} with the announced problems`, async () => {
    const path = join(dir, name);
    const expected = expectations(await Deno.readTextFile(path));
    let problems: Problem[] | undefined;
    try {
      await loadExperiment(path, fakeRegistry());
    } catch (e) {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
      problems = e.problems;
      for (const line of e.message.split("\n").slice(1)) {
        assert.match(line, /^.+\.yaml:\d+:\d+: .+/, "each problem line is file:line:col: message");
      }
    }
    assert.ok(problems, `${name} was accepted`);
    const shown = problems.map((p) => `${p.line}:${p.col} ${p.message}`).join("\n");
    for (const x of expected) {
      assert.ok(
        problems.some((p) => p.line === x.line && p.col === x.col && p.message.includes(x.text)),
        `missing "${x.line}:${x.col} ${x.text}" in:\n${shown}`,
      );
      assert.ok(problems.every((p) => p.file === path));
    }
    assert.equal(problems.length, expected.length, `unexpected extra problems:\n${shown}`);
  });
}
