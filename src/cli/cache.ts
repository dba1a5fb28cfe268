/**
 * `kt cache ls | verify | gc`: inspect and clean the artifact cache.
 * @module
 */
import type { Command } from "commander";
import { numberFlag } from "../flags.ts";
import { openCache } from "../cache.ts";
import { isProvenance, openHashMemo, staleDependents, staleReason } from "../provenance.ts";
import { abs, DEFAULT_CACHE, ExitCode } from "./shared.ts";

/** Adds `kt cache` to `program`. */
export function cacheCommand(program: Command): void {
  const cacheCmd = program.command("cache").description("inspect and clean the artifact cache");
  cacheCmd.command("ls")
    .option("--cache-dir <dir>", "artifact cache", DEFAULT_CACHE)
    .action(async (o) => {
      const cache = await openCache(abs(o.cacheDir));
      const entries = await cache.list();
      for (const e of entries) {
        console.log(
          `${e.key.slice(0, 16)}  ${e.plugin.padEnd(24)} ${
            (e.bytes / 1e6).toFixed(2).padStart(9)
          } MB  ${e.created.toISOString()}`,
        );
      }
      console.log(
        `${entries.length} artifact(s), ${
          (entries.reduce((n, e) => n + e.bytes, 0) / 1e6).toFixed(1)
        } MB`,
      );
    });
  cacheCmd.command("verify")
    .option("--cache-dir <dir>", "artifact cache", DEFAULT_CACHE)
    .option("--remove", "delete corrupt and stale artifacts")
    .action(async (o) => {
      const cacheDir = abs(o.cacheDir);
      // Every input file is read again (the stat memo is not trusted here) and the memo updated.
      const memo = await openHashMemo(cacheDir, { trust: false });
      const cache = await openCache(cacheDir);
      const inputsOf = new Map<string, string[]>();
      const report = await cache.verify({
        remove: !!o.remove,
        stale: (m) => {
          if (!isProvenance(m.provenance)) return Promise.resolve(undefined);
          inputsOf.set(m.key, m.provenance.inputs ?? []);
          return staleReason(m.provenance, memo);
        },
      });
      await memo.save();
      // Built on a stale artifact: stale too.
      const staleKeys = report.stale.map((s) => s.key);
      for (const { key, input } of staleDependents(report.ok, inputsOf, staleKeys)) {
        report.ok.splice(report.ok.indexOf(key), 1);
        report.stale.push({ key, reason: `built on stale artifact ${input.slice(0, 12)}` });
        if (o.remove) await cache.remove(key);
      }
      for (const c of report.corrupt) console.log(`corrupt ${c.key}: ${c.reason}`);
      for (const c of report.stale) console.log(`stale ${c.key}: ${c.reason}`);
      console.log(
        `${report.ok.length} ok, ${report.corrupt.length} corrupt, ${report.stale.length} stale, ` +
          `${report.incomplete.length} incomplete`,
      );
      if (report.corrupt.length + report.stale.length > 0 && !o.remove) throw new ExitCode(1);
    });
  cacheCmd.command("gc")
    .option("--cache-dir <dir>", "artifact cache", DEFAULT_CACHE)
    .option(
      "--older-than <days>",
      "also remove artifacts unused for this many days",
      numberFlag("--older-than", { min: 0, example: "30" }),
    )
    .action(async (o) => {
      const cache = await openCache(abs(o.cacheDir));
      const report = await cache.gc(
        o.olderThan !== undefined ? { olderThan: o.olderThan * 86_400_000 } : {},
      );
      console.log(
        `removed ${report.removed.length} artifact(s) and ${report.leftoversRemoved} leftover(s), freed ${
          (report.bytesFreed / 1e6).toFixed(1)
        } MB`,
      );
    });
}
