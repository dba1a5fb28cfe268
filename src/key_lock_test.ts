import assert from "node:assert/strict";
import { join } from "node:path";
import { lockPath, tryLockKey } from "./key_lock.ts";
import { isAlive, thisProcess } from "./liveness.ts";

const KEY = "ab".repeat(32);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kt-lock-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("one holder at a time; released, the lock can be taken again", async () => {
  await withDir(async (dir) => {
    const first = await tryLockKey(dir, KEY);
    assert.ok("release" in first);
    const second = await tryLockKey(dir, KEY);
    assert.ok("heldBy" in second);
    assert.equal(second.heldBy.pid, Deno.pid);
    await first.release();
    const third = await tryLockKey(dir, KEY);
    assert.ok("release" in third);
    await third.release();
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(join(dir, "locks")))).map((e) => e.name),
      [],
      "nothing left behind",
    );
  });
});

Deno.test("a lock whose process is gone is broken and taken; a live holder's is not", async () => {
  await withDir(async (dir) => {
    // A process that took the lock and was killed with SIGKILL.
    const script = join(dir, "holder.ts");
    await Deno.writeTextFile(
      script,
      `import { tryLockKey } from ${JSON.stringify(import.meta.resolve("./key_lock.ts"))};
      const lock = await tryLockKey(${JSON.stringify(dir)}, "${KEY}");
      console.log("release" in lock ? "locked" : "held");
      await new Promise((r) => setTimeout(r, 60_000));`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "-A", script],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value?.trim(), "locked");
    const held = await tryLockKey(dir, KEY);
    assert.ok("heldBy" in held, "its holder is alive");
    assert.equal(held.heldBy.pid, child.pid);
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    assert.equal(isAlive(held.heldBy), false);
    const taken = await tryLockKey(dir, KEY);
    assert.ok("release" in taken, "a crashed holder cannot keep it");
    await taken.release();
  });
});

Deno.test("a lock held from another host goes stale when its heartbeat stops", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "locks"));
    const path = lockPath(dir, KEY);
    const other = { pid: 1, host: "another-host", key: KEY, since: "", nonce: "n" };
    await Deno.writeTextFile(path, JSON.stringify(other));
    assert.ok("heldBy" in await tryLockKey(dir, KEY, { staleMs: 60_000 }), "fresh heartbeat");
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(path, old, old);
    const taken = await tryLockKey(dir, KEY, { staleMs: 60_000 });
    assert.ok("release" in taken, "no heartbeat for 2 min");
    await taken.release();
  });
});

Deno.test("a held lock's heartbeat keeps it fresh", async () => {
  await withDir(async (dir) => {
    const lock = await tryLockKey(dir, KEY, { heartbeatMs: 20 });
    assert.ok("release" in lock);
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(lockPath(dir, KEY), old, old);
    await new Promise((r) => setTimeout(r, 100));
    const { mtime } = await Deno.stat(lockPath(dir, KEY));
    assert.ok(Date.now() - mtime!.getTime() < 10_000, "touched again");
    await lock.release();
  });
});

Deno.test("isAlive(): this process is; a pid that is not, or another host, cannot be", () => {
  const me = thisProcess();
  assert.equal(isAlive(me), true);
  assert.equal(isAlive({ ...me, pid: 2 ** 22 + 7 }), false);
  assert.equal(isAlive({ pid: me.pid, host: "another-host" }), undefined);
});
