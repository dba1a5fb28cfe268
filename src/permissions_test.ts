import assert from "node:assert/strict";
import { join } from "node:path";
import { KtError } from "./errors.ts";
import { allowFlag, denoCommand, findOnPath } from "./permissions.ts";

Deno.test("allowFlag() lists absolute, distinct paths and omits an empty list", () => {
  assert.equal(
    allowFlag("--allow-write", ["/tmp/kt/cache", "runs/x", "/tmp/kt/cache"]),
    `--allow-write=/tmp/kt/cache,${join(Deno.cwd(), "runs/x")}`,
  );
  assert.equal(allowFlag("--allow-net", []), undefined);
  assert.equal(
    allowFlag("--allow-net", ["127.0.0.1:8080", "example.org"]),
    "--allow-net=127.0.0.1:8080,example.org",
  );
});

Deno.test("allowFlag() refuses any value that could widen the list", () => {
  for (const path of ["runs/x,/,y", "runs/comma,", "", "a\nb"]) {
    assert.throws(
      () => allowFlag("--allow-write", ["/tmp/kt", path]),
      KtError,
      JSON.stringify(path),
    );
  }
  for (const host of ["a,b", "evil.org,", "", "a b", "x/y"]) {
    assert.throws(() => allowFlag("--allow-net", [host]), KtError, JSON.stringify(host));
  }
});

Deno.test("findOnPath() finds executables on PATH; denoCommand() is this deno under -A", () => {
  assert.equal(findOnPath("surely-no-such-program-kt"), undefined);
  const deno = findOnPath("deno");
  if (deno) assert.equal(Deno.realPathSync(deno).length > 0, true);
  // Tests run with a blanket --allow-run: this deno is started by its own path.
  assert.equal(denoCommand(), Deno.execPath());
});
