import assert from "node:assert/strict";
import { canonicalJson } from "./canonical.ts";
import { KtError } from "./errors.ts";

Deno.test("canonicalJson() sorts object keys at every depth and keeps array order", () => {
  const text = canonicalJson({ z: [3, { b: 1, a: 2 }], a: "x", m: { y: null, x: true } });
  assert.equal(text, '{"a":"x","m":{"x":true,"y":null},"z":[3,{"a":2,"b":1}]}');
});

Deno.test("canonicalJson() gives the same text for objects built in different key orders", () => {
  const a: Record<string, number> = {};
  a.first = 1;
  a.second = 2;
  const b: Record<string, number> = {};
  b.second = 2;
  b.first = 1;
  assert.equal(canonicalJson(a), canonicalJson(b));
});

Deno.test("canonicalJson() drops undefined members and writes undefined array items as null", () => {
  assert.equal(canonicalJson({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
});

Deno.test("canonicalJson() escapes strings exactly as JSON does", () => {
  const s = 'quote " slash \\ newline \n unicode é';
  assert.equal(canonicalJson({ [s]: s }), `{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
  assert.deepEqual(JSON.parse(canonicalJson({ [s]: s })), { [s]: s });
});

Deno.test("canonicalJson() writes dates through toJSON", () => {
  const d = new Date(Date.UTC(2020, 0, 2));
  assert.equal(canonicalJson({ d }), '{"d":"2020-01-02T00:00:00.000Z"}');
});

Deno.test("canonicalJson() rejects values JSON cannot represent faithfully", () => {
  for (const bad of [NaN, Infinity, () => 1, 1n, new Map(), new Float32Array(2)]) {
    assert.throws(
      () => canonicalJson({ a: [bad] }),
      (e) => e instanceof KtError && e.message.includes("$.a[0]"),
    );
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), /cyclic/);
});

Deno.test("canonicalJson() accepts a shared (non-cyclic) sub-object twice", () => {
  const shared = { k: 1 };
  assert.equal(canonicalJson([shared, shared]), '[{"k":1},{"k":1}]');
});
