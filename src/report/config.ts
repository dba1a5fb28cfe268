/**
 * The configs: the settings that differ between methods and each method's resolved config.
 * @module
 */
import { stringify as toYaml } from "yaml";
import { canonicalJson, type JsonValue } from "../canonical.ts";
import type { ReportTrial } from "./types.ts";
import { esc } from "./format.ts";
import { isFinished, type MethodInfo, note, swatch } from "./parts.ts";

/**
 * The config section: the settings that differ, then each method's resolved config (its
 * lowest-seed trial's).
 */
export function configHtml(methods: MethodInfo[]): string {
  // Each method's trial with the lowest seed, so seeds differ as little as possible.
  const withConfig = methods.map((m) => ({
    m,
    trial:
      [...m.trials].filter((t) => t.config != null).sort((a, b) =>
        Number(!isFinished(a.status)) - Number(!isFinished(b.status)) || a.seed - b.seed
      )[0],
  }));
  if (withConfig.every((c) => !c.trial)) return note("No resolved config recorded in this run.");
  const varying = varyingNodes(withConfig.map((c) => c.trial?.config ?? null));
  const blocks = withConfig.map(({ m, trial }) => {
    const summary = `${swatch(m.color)}${esc(m.name)}` +
      (trial ? ` <span class="meta">(trial <code>${esc(trial.label)}</code>)</span>` : "");
    const body = trial
      ? `<pre class="config">${esc(toYaml(trial.config, { lineWidth: 0 }))}</pre>`
      : note("No config recorded for this method.");
    return `<details class="config"><summary>${summary}</summary>\n${body}</details>`;
  });
  const diff = methods.length > 1 ? configDiffHtml(withConfig) : "";
  const lead = varying.length > 0 && methods.length > 1
    ? `<p class="caption">Nodes whose config differs between methods: ${
      varying.map((n) => `<code>${esc(n)}</code>`).join(", ")
    }. The full resolved config of each method:</p>`
    : "";
  return diff + lead + blocks.join("\n");
}

/** Every leaf of a config as `path → JSON text` (lists are leaves). */
function flatConfig(
  value: JsonValue | null | undefined,
  prefix = "",
  out = new Map<string, string>(),
) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix && value !== undefined) out.set(prefix, canonicalJson(value));
  return out;
}

/**
 * The settings that differ between methods, one row each with every method's value (seeds left
 * out: they differ by design), and how many settings all share.
 */
function configDiffHtml(withConfig: { m: MethodInfo; trial?: ReportTrial }[]): string {
  const flat = withConfig.map((c) => c.trial ? flatConfig(c.trial.config ?? null) : undefined);
  const paths = [...new Set(flat.flatMap((f) => f ? [...f.keys()] : []))];
  const isSeed = (p: string) => p === "seed" || p.endsWith(".seed");
  const differs = paths.filter((p) =>
    !isSeed(p) && new Set(flat.map((f) => f?.get(p) ?? "")).size > 1
  );
  const shared = paths.length - differs.length;
  if (differs.length === 0) {
    return note(`Every method has the same resolved config (${shared} settings).`);
  }
  const head = `<th class="left">setting</th>` +
    withConfig.map(({ m }) => `<th class="left">${swatch(m.color)}${esc(m.name)}</th>`).join("");
  const body = differs.map((p) =>
    `<tr><td class="left"><code>${esc(p)}</code></td>${
      flat.map((f) => {
        const v = f?.get(p);
        return v === undefined
          ? `<td class="left na">—</td>`
          : `<td class="left"><code>${esc(displayConfigValue(v))}</code></td>`;
      }).join("")
    }</tr>`
  );
  return `<div class="scroll"><table class="config-diff">\n<thead><tr>${head}</tr></thead>\n` +
    `<tbody>\n${body.join("\n")}\n</tbody></table></div>\n` +
    `<p class="caption">The ${differs.length} setting${differs.length === 1 ? "" : "s"} that ` +
    `differ between methods (— : not set); the other ${shared} are the same for every method ` +
    `(seeds aside).</p>`;
}

/** A config value for a table cell: strings bare, everything else as JSON. */
function displayConfigValue(json: string): string {
  const v = JSON.parse(json);
  return typeof v === "string" ? v : json;
}

/** Top-level keys (nodes) whose value is not the same in every config. */
function varyingNodes(configs: (JsonValue | null)[]): string[] {
  const objects = configs.filter((c): c is Record<string, JsonValue> =>
    c !== null && typeof c === "object" && !Array.isArray(c)
  ) as Record<string, JsonValue | undefined>[];
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  return keys.filter((k) => {
    const texts = objects.map((o) => o[k] === undefined ? "" : canonicalJson(o[k]));
    return texts.some((t) => t !== texts[0]);
  });
}
