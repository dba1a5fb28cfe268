/**
 * The `kt` entry point: wires the engine to the built-in plugins.
 * `deno task kt --help`, `deno task sweep <file.yaml>`.
 * @module
 */
import { runCli } from "./src/cli.ts";
import { builtinPlugins } from "./plugins/mod.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, builtinPlugins, { entry: import.meta.url }));
}
