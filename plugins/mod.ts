/**
 * The built-in plugin set. The entry point hands this list to the engine; `src/` never imports
 * a concrete plugin. Add a built-in by importing its file here.
 * @module
 */
import type { Plugin } from "../src/api.ts";
import cnn from "./models/cnn.ts";
import mlp from "./models/mlp.ts";
import resnet from "./models/resnet.ts";

/** Every built-in plugin, in registration order. */
export const builtinPlugins: Plugin[] = [
  cnn,
  mlp,
  resnet,
];
