/**
 * `kt plugins`: every plugin with its options (type, default, description), read from its zod
 * schema.
 * @module
 */
import { z } from "zod";
import type { Plugin } from "./api.ts";
import { PLUGIN_KINDS } from "./api.ts";

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  required?: string[];
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
  if (s.type === "array") return `${s.items ? typeOf(s.items) : "any"}[]`;
  if (Array.isArray(s.type)) return s.type.join(" | ");
  return s.type ?? "any";
}

/** One line per option: `name: type = default — description`. */
export function describeOptions(schema: z.ZodType): string[] {
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  } catch {
    return ["(options not describable)"];
  }
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const required = json.required?.includes(name) && s.default === undefined ? " (required)" : "";
    const def = s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : "";
    const desc = s.description ? ` — ${s.description}` : "";
    return `${name}: ${typeOf(s)}${def}${required}${desc}`;
  });
}

/** The listing `kt plugins` prints, grouped by kind. */
export function describePlugins(plugins: Plugin[], kind?: string): string {
  const out: string[] = [];
  for (const k of PLUGIN_KINDS) {
    if (kind && k !== kind) continue;
    const ofKind = plugins.filter((p) => p.kind === k);
    if (ofKind.length === 0) continue;
    out.push(`${k}s:`);
    for (const p of ofKind) {
      out.push(`  ${p.name}${p.version ? ` (v${p.version})` : ""} — ${p.description}`);
      for (const line of describeOptions(p.options)) out.push(`      ${line}`);
    }
  }
  return out.join("\n");
}
