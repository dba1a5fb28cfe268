import assert from "node:assert/strict";
import { KtError } from "./errors.ts";
import { choiceFlag, dirFlag, intFlag, jsonObjectFlag, numberFlag } from "./flags.ts";

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KtError, `a KtError, got ${e}`);
    assert.ok(e.hint?.startsWith("e.g. "), "says how to fix it");
    return e.format();
  }
  assert.fail("accepted");
}

Deno.test("intFlag() takes whole numbers within bounds and names the flag otherwise", () => {
  const jobs = intFlag("--jobs", { min: 1, max: 64, example: "2" });
  assert.equal(jobs("4"), 4);
  assert.equal(jobs(" 8 "), 8);
  assert.equal(
    refused(() => jobs("0")),
    '--jobs "0": expected a whole number >= 1 and <= 64 — e.g. --jobs 2',
  );
  for (const bad of ["x", "1.5", "", "1e3", "65", "-1", "99999999999999999"]) {
    assert.match(refused(() => jobs(bad)), /^--jobs ".*": expected a whole number/);
  }
});

Deno.test("numberFlag() takes finite decimals and exponents within bounds", () => {
  const lr = numberFlag("--lr", { above: 0, example: "0.001" });
  assert.equal(lr("1e-4"), 1e-4);
  assert.equal(lr(".5"), 0.5);
  for (const bad of ["-1", "0", "x", "Infinity", "NaN", "1e999", "0x10"]) {
    assert.match(refused(() => lr(bad)), /^--lr ".*": expected a number > 0 — e\.g\. --lr 0\.001$/);
  }
  const beta = numberFlag("--beta1", { min: 0, below: 1, example: "0.9" });
  assert.match(refused(() => beta("1")), />= 0 and < 1/);
});

Deno.test("choiceFlag(), jsonObjectFlag() and dirFlag() refuse with one line", () => {
  assert.equal(choiceFlag("--format", ["markdown", "csv"])("csv"), "csv");
  assert.match(
    refused(() => choiceFlag("--format", ["markdown", "csv"])("xml")),
    /one of markdown, csv/,
  );
  const json = jsonObjectFlag("--data-options", '{"limit":10}');
  assert.deepEqual(json('{"limit": 5}'), { limit: 5 });
  assert.match(refused(() => json("x")), /^--data-options "x": expected a JSON object: /);
  assert.match(refused(() => json("[1]")), /JSON object in braces/);
  assert.match(refused(() => json("null")), /JSON object in braces/);
  assert.equal(dirFlag("--run-dir", "runs/x")("runs/a b"), "runs/a b");
  assert.match(refused(() => dirFlag("--run-dir", "runs/x")("runs,/")), /must not contain ","/);
  for (const text of [refused(() => json("x")), refused(() => choiceFlag("--f", ["a"])("b"))]) {
    assert.ok(!text.includes("\n"), text);
  }
});
