/**
 * The metadata keys with which the plugin-author API's `ref`, `pluginSpec` and `filePath` mark a
 * zod schema (in `z.globalRegistry`), read back by the validator and the cache-key provenance.
 * Internal: plugins mark schemas through those helpers, never with these keys.
 * @module
 */

/** Marks an option that references another node (`ref`): the accepted kinds. */
export const REF_META = "ktRef";
/** Marks an option holding an inline plugin (`pluginSpec`): the plugin kind. */
export const PLUGIN_SPEC_META = "ktPlugin";
/** Marks a `pluginSpec` whose `weight` belongs to the holder. */
export const WEIGHTED_META = "ktWeighted";
/** Marks an option naming a file the plugin reads (`filePath`). */
export const FILE_META = "ktFile";
