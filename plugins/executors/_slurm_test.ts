import assert from "node:assert/strict";
import { join } from "node:path";
import {
  batchScript,
  findOnPath,
  jobPhase,
  NOT_SHARED_EXIT,
  parseSacct,
  parseScontrol,
  parseSqueue,
  requireSlurmCommands,
  sbatchFlags,
  shellQuote,
  slurmFailure,
} from "./_slurm.ts";
import { KtError } from "../../mod.ts";

Deno.test("sbatchFlags() maps each resource option to its sbatch flag, extra flags last", () => {
  assert.deepEqual(
    sbatchFlags({
      partition: "gpu",
      gpus: 2,
      time: "1:00:00",
      cpus: 4,
      mem: "8G",
      account: "lab",
      sbatchArgs: ["--qos=short"],
    }),
    [
      "--partition=gpu",
      "--account=lab",
      "--gres=gpu:2",
      "--time=1:00:00",
      "--cpus-per-task=4",
      "--mem=8G",
      "--qos=short",
    ],
  );
  assert.deepEqual(sbatchFlags({}), []);
});

Deno.test("shellQuote() survives a round trip through the shell, quotes included", async () => {
  const nasty = ["plain", "two words", "it's", "$HOME", 'a"b', "semi;colon"];
  const out = await new Deno.Command("sh", {
    args: ["-c", `printf '%s\\n' ${nasty.map(shellQuote).join(" ")}`],
    stdout: "piped",
  }).output();
  assert.deepEqual(new TextDecoder().decode(out.stdout).trimEnd().split("\n"), nasty);
});

Deno.test("parseSqueue() reads id, base state, reason and nodes", () => {
  const jobs = parseSqueue(
    "12|RUNNING|None|node1\n13|CANCELLED by 0|Priority|\n\n14|PENDING|Dependency|\n",
  );
  assert.deepEqual(jobs.get("12"), { id: "12", state: "RUNNING", reason: "None", nodes: "node1" });
  assert.equal(jobs.get("13")!.state, "CANCELLED");
  assert.equal(jobs.get("14")!.reason, "Dependency");
  assert.equal(jobs.size, 3);
});

Deno.test("parseSacct() keeps job allocations, skips steps and reads the exit code", () => {
  const jobs = parseSacct(
    "7|TIMEOUT|0:15|TimeLimit|n1\n7.batch|CANCELLED|0:15||n1\n8|FAILED|3:0|NonZeroExitCode|n2\n",
  );
  assert.deepEqual([...jobs.keys()], ["7", "8"]);
  assert.equal(jobs.get("7")!.state, "TIMEOUT");
  assert.equal(jobs.get("8")!.exitCode, 3);
});

Deno.test("parseScontrol() reads one-line `scontrol show job -o` output", () => {
  const info = parseScontrol(
    "JobId=5 JobName=kt-teacher UserId=root(0) JobState=FAILED Reason=NonZeroExitCode " +
      "Dependency=(null) ExitCode=3:0 NodeList=vm BatchHost=vm",
  );
  assert.deepEqual(info, {
    id: "5",
    state: "FAILED",
    reason: "NonZeroExitCode",
    nodes: "vm",
    exitCode: 3,
  });
  assert.equal(parseScontrol("slurm_load_jobs error: Invalid job id specified"), undefined);
});

Deno.test("jobPhase() tells queued, running and ended states apart", () => {
  const at = (state: string) => jobPhase({ id: "1", state, reason: "None", nodes: "" });
  assert.equal(at("PENDING"), "pending");
  assert.equal(at("RUNNING"), "running");
  assert.equal(at("COMPLETING"), "running");
  for (const s of ["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY"]) {
    assert.equal(at(s), "finished", s);
  }
});

Deno.test("slurmFailure() reads '<STATE>: <reason>' and explains states Slurm gives no reason for", () => {
  assert.equal(
    slurmFailure({ id: "9", state: "TIMEOUT", reason: "TimeLimit", nodes: "n3" }),
    "TIMEOUT: TimeLimit (time limit reached; Slurm job 9 on n3)",
  );
  assert.equal(
    slurmFailure({ id: "4", state: "CANCELLED", reason: "None", nodes: "" }),
    "CANCELLED: cancelled (scancel or an administrator) (Slurm job 4)",
  );
});

Deno.test("findOnPath() finds executables only in the PATH given", () => {
  assert.equal(findOnPath("sh", "/nonexistent"), undefined);
  const sh = findOnPath("sh", "/nonexistent:/bin:/usr/bin");
  assert.ok(sh && sh.endsWith("/sh"));
});

async function runScript(dir: string, command: string, args: string[], withStdin: boolean) {
  const files = {
    script: join(dir, "job.sh"),
    stdin: join(dir, "job.json"),
    stdout: join(dir, "job.out"),
    stderr: join(dir, "job.err"),
    slurmLog: join(dir, "job.slurm.log"),
    exit: join(dir, "job.exit"),
  };
  if (withStdin) await Deno.writeTextFile(files.stdin, '{"key":"k"}');
  const text = batchScript({
    name: "kt-test",
    comment: "test",
    flags: ["--partition=debug", "--time=5"],
    cwd: dir,
    command,
    args,
    files,
  });
  await Deno.writeTextFile(files.script, text);
  const out = await new Deno.Command("bash", { args: [files.script], stderr: "piped" }).output();
  return { text, files, code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("batchScript() runs the worker with stdin/stdout/stderr files and writes its exit code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kt slurm " });
  try {
    const { text, files, code } = await runScript(
      dir,
      "sh",
      ["-c", "cat; echo; echo 'it''s fine' >&2; exit 3"],
      true,
    );
    assert.match(text, /^#SBATCH --partition=debug$/m);
    assert.match(text, /^#SBATCH --time=5$/m);
    assert.match(text, /^#SBATCH --job-name=kt-test$/m);
    assert.equal(code, 3);
    assert.equal(await Deno.readTextFile(files.stdout), '{"key":"k"}\n');
    assert.equal(await Deno.readTextFile(files.stderr), "its fine\n");
    assert.equal((await Deno.readTextFile(files.exit)).trim(), "3");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("batchScript() exits with NOT_SHARED_EXIT when the node cannot read the job's files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stderr, files } = await runScript(dir, "true", [], false);
    assert.equal(code, NOT_SHARED_EXIT);
    assert.match(stderr, /not readable on .*shared/);
    await assert.rejects(Deno.stat(files.exit));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requireSlurmCommands() names the missing commands, the PATH and the package", () => {
  const path = Deno.env.get("PATH") ?? "";
  Deno.env.set("PATH", "/nonexistent");
  try {
    assert.throws(
      () => requireSlurmCommands(["sbatch", "squeue"]),
      (err: unknown) =>
        err instanceof KtError &&
        /needs sbatch, squeue, which are not on PATH \(\/nonexistent\)/.test(err.message) &&
        /slurm-client/.test(err.hint ?? ""),
    );
  } finally {
    Deno.env.set("PATH", path);
  }
});
