/**
 * The built-in plugin set. The entry point hands this list to the engine; `src/` never imports
 * a concrete plugin. Add a built-in by importing its file here.
 * @module
 */
import type { Plugin } from "../src/api.ts";

/** Every built-in plugin, in registration order. */
export const builtinPlugins: Plugin[] = [
];
