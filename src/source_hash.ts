/**
 * Hashes of user plugin code: a plugin file with the local modules it imports.
 * @module
 */
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalJson } from "./canonical.ts";
import { sha256Hex } from "./hash.ts";

/** One hashed input as a manifest records it. */
export interface HashedSource {
  /** Absolute path at the time of hashing. */
  path: string;
  /** Hex sha-256 (of the bytes; for a directory or a module with imports, of their listing). */
  sha256: string;
}

const KT_ROOT = fileURLToPath(new URL("../", import.meta.url));
/** kt's own engine: covered by the numerics version and plugin versions, never hashed. */
const KT_OWN = ["src/", "plugins/", "mod.ts", "main.ts", "node_modules/"].map((p) => KT_ROOT + p);

const IMPORT_RE =
  /(?:^|[\s;}])(?:import|export)\s*(?:type\s+)?(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"'\n]+)["']/g;

/** The static relative import specifiers of a module's source text. */
export function relativeImports(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(IMPORT_RE)) {
    if (m[1].startsWith("./") || m[1].startsWith("../")) out.add(m[1]);
  }
  return [...out];
}

/**
 * Hash of a plugin file and every local module it imports (static relative imports, recursively;
 * modules inside kt's own `src/`, `plugins/`, `mod.ts` are left out). Paths enter the hash
 * relative to the plugin file's directory, so moving the whole folder keeps the hash.
 *
 * @example
 * ```ts
 * import { moduleHash } from "./source_hash.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.ts`, 'import { b } from "./b.ts";\nexport const a = b;\n');
 * await Deno.writeTextFile(`${dir}/b.ts`, "export const b = 1;\n");
 * const before = await moduleHash(`${dir}/a.ts`);
 * await Deno.writeTextFile(`${dir}/b.ts`, "export const b = 2;\n");
 * console.assert(before !== await moduleHash(`${dir}/a.ts`)); // an imported module changed
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function moduleHash(file: string): Promise<string> {
  const base = dirname(file);
  const seen = new Map<string, string>();
  const visit = async (path: string) => {
    if (seen.has(path) || seen.size >= 1000 || KT_OWN.some((own) => path.startsWith(own))) return;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch {
      seen.set(path, "missing");
      return;
    }
    seen.set(path, sha256Hex(bytes));
    for (const spec of relativeImports(new TextDecoder().decode(bytes))) {
      await visit(resolve(dirname(path), spec.split(/[?#]/)[0]));
    }
  };
  await visit(resolve(file));
  const listing = [...seen].map(([p, h]) => [relative(base, p), h]).sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
  );
  return sha256Hex(canonicalJson(listing));
}
