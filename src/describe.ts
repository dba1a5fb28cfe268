/**
 * `kt plugins`: every plugin with its options (type, default, description), read from its zod
 * schema.
 * @module
 */
import { z } from "zod";
import type { Plugin, PluginKind } from "./api.ts";
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

/** A kind's heading: `datasets`, ..., `losses`. */
export function pluralKind(kind: PluginKind): string {
  return kind === "loss" ? "losses" : `${kind}s`;
}

/** A loss plugin's `paper: … · reads: …` line, or `undefined` when it says neither. */
function lossLine(p: Plugin): string | undefined {
  if (p.kind !== "loss") return undefined;
  const parts = [
    ...(p.paper ? [`paper: ${p.paper}`] : []),
    ...(p.reads?.length ? [`reads: ${p.reads.join(", ")}`] : []),
  ];
  return parts.length > 0 ? parts.join(" · ") : undefined;
}

/**
 * The listing `kt plugins` prints, grouped by kind: each plugin's name, version and description,
 * for a loss the paper it implements and what it reads, then its options.
 */
export function describePlugins(plugins: Plugin[], kind?: PluginKind): string {
  const out: string[] = [];
  for (const k of PLUGIN_KINDS) {
    if (kind && k !== kind) continue;
    const ofKind = plugins.filter((p) => p.kind === k);
    if (ofKind.length === 0) continue;
    out.push(`${pluralKind(k)}:`);
    for (const p of ofKind) {
      out.push(`  ${p.name}${p.version ? ` (v${p.version})` : ""} — ${p.description}`);
      const loss = lossLine(p);
      if (loss) out.push(`    ${loss}`);
      for (const line of describeOptions(p.options)) out.push(`      ${line}`);
    }
  }
  return out.join("\n");
}
