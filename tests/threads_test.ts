/**
 * Kernel threads change speed, not results: the tiny student (conv + BN) and the MNIST CNN
 * trained with 1 and with 2 kernel threads end with bit-identical weights. Each run is its own
 * process, since a process decides at its first wasm load whether the memory is shared.
 */
import assert from "node:assert/strict";

const fixture = new URL("./fixtures/threads_train.ts", import.meta.url).pathname;
const config = new URL("../deno.json", import.meta.url).pathname;

async function train(threads: number): Promise<{ threads: number; hashes: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${config}`,
      "--allow-read",
      "--allow-env",
      "--allow-sys",
      fixture,
      String(threads),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.split("\n").pop()!);
}

Deno.test("training with 2 kernel threads gives bit-identical weights to 1 thread", async () => {
  const [one, two] = await Promise.all([train(1), train(2)]);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.equal(one.hashes.length, 2);
  assert.deepEqual(two.hashes, one.hashes);
  // Different models do differ (the hash sees the weights).
  assert.notEqual(one.hashes[0], one.hashes[1]);
});
