import assert from "node:assert/strict";
import { join } from "node:path";
import { lockPath, tryLockKey } from "./key_lock.ts";
import { holdLife, isAbandoned, isHeld } from "./liveness.ts";

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
    // A process that took the lock and was killed with SIGKILL. It runs with the sweep task's
    // permissions, which give no access to /proc or to signalling other processes.
    const script = join(dir, "holder.ts");
    await Deno.writeTextFile(
      script,
      `import { tryLockKey } from ${JSON.stringify(import.meta.resolve("./key_lock.ts"))};
      const lock = await tryLockKey(${JSON.stringify(dir)}, "${KEY}");
      console.log("release" in lock ? "locked" : "held");
      await new Promise((r) => setTimeout(r, 60_000));`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "--allow-read", `--allow-write=${dir}`, "--allow-env", script],
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
    assert.equal(await isHeld(lockPath(dir, KEY)), false, "the kernel dropped its flock");
    const taken = await tryLockKey(dir, KEY);
    assert.ok("release" in taken, "a crashed holder cannot keep it");
    await taken.release();
  });
});

Deno.test("a lock file left by a dead holder is taken at once, whatever its heartbeat", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "locks"));
    const path = lockPath(dir, KEY);
    const other = { pid: 1, host: "another-host", key: KEY, since: "", nonce: "n" };
    await Deno.writeTextFile(path, JSON.stringify(other));
    const taken = await tryLockKey(dir, KEY, { staleMs: 60_000 });
    assert.ok("release" in taken, "nobody holds its flock");
    await taken.release();
  });
});

Deno.test("isAbandoned(): the life lock decides; without one the heartbeat does", () => {
  const now = new Date();
  const ago = (ms: number) => new Date(now.getTime() - ms);
  assert.equal(isAbandoned(true, ago(3_600_000), 60_000, now), false, "held: alive");
  assert.equal(isAbandoned(false, ago(0), 60_000, now), true, "not held: gone");
  assert.equal(isAbandoned(undefined, ago(30_000), 60_000, now), false);
  assert.equal(isAbandoned(undefined, ago(120_000), 60_000, now), true);
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

Deno.test("holdLife()/isHeld(): one holder; released or missing, nobody holds it", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "life.lock");
    assert.equal(await isHeld(path), false, "no file");
    const life = await holdLife(path);
    assert.ok(life);
    assert.equal(await isHeld(path), true);
    assert.equal(await holdLife(path), undefined, "taken already");
    life.release();
    assert.equal(await isHeld(path), false);
  });
});
