/**
 * The report's stylesheet, inlined into the page (the page loads nothing).
 * @module
 */

/** The page's stylesheet (the only style it has: no external sheets or fonts). */
export const CSS = `
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1f2328;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d8dee4; }
code, pre { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.meta { color: #59636e; margin: 2px 0; }
.note { color: #59636e; font-style: italic; }
.caption, figcaption { color: #59636e; font-size: 13px; margin: 6px 0; }
figure { margin: 0 0 18px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; text-align: right; border-bottom: 1px solid #e5e8eb; white-space: nowrap;
  vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; border-bottom: 2px solid #d0d7de; }
.left { text-align: left; }
td.method { white-space: normal; min-width: 8em; max-width: 22em; overflow-wrap: anywhere; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.best { background: #e6f4ea; }
td.tie { background: #f3f8f4; }
td.top { font-weight: 600; }
td.sig { color: #1a7f37; }
td.na { color: #8c959f; }
td.bad { color: #b42318; font-weight: 600; }
.pm { display: block; color: #59636e; font-size: 11.5px; line-height: 1.2; }
td.best .pm { color: inherit; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 7px;
  vertical-align: baseline; }
.swatch.reference { width: 14px; height: 0; border-radius: 0; border-top: 2px dashed; }
tr.reference-row td { background: #f3f4f6; color: #424a53; }
.tag { display: inline-block; font-size: 11px; line-height: 1.3; padding: 0 5px; margin-right: 4px;
  border: 1px solid #afb8c1; border-radius: 8px; color: #424a53; background: #fff; }
.legend { list-style: none; padding: 0; margin: 4px 0 2px; display: flex; flex-wrap: wrap;
  gap: 4px 18px; font-size: 13px; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .axis { stroke: #57606a; stroke-width: 1; }
svg .tick { fill: #57606a; stroke: #57606a; stroke-width: 0; font-size: 11px; }
svg line.tick { stroke-width: 1; }
svg .axis-title { fill: #1f2328; font-size: 12px; }
svg .xlabel { fill: #1f2328; font-size: 12px; }
svg .value { fill: #1f2328; font-size: 11px; }
svg .value.best { font-weight: 700; }
svg .mean { stroke-width: 4; stroke-linecap: round; }
svg .mean.best { stroke-width: 6; }
svg .seed-point { opacity: 0.55; stroke: none; }
svg .axis-break line { stroke: #57606a; stroke-width: 1.2; }
.legend-title { color: #59636e; }
svg .err, svg .cap { stroke: #1f2328; stroke-width: 1.5; }
svg .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg .series.reference, svg .refline { stroke-dasharray: 6 4; }
svg .refline { stroke-width: 2; }
svg .reflabel { font-size: 11px; }
svg .band { opacity: 0.14; stroke: none; }
svg .marker { stroke: #fff; stroke-width: 1; }
.gallery-query { margin: 10px 0 16px; }
.gq-head { margin: 4px 0; display: flex; align-items: center; gap: 8px; }
table.gallery td { padding: 3px 8px; }
td.thumbs { white-space: nowrap; }
td.hits { color: #59636e; }
.thumb { display: inline-block; width: 28px; height: 28px; margin-right: 3px; background-size: cover;
  image-rendering: pixelated; border: 2px solid transparent; position: relative;
  vertical-align: middle; }
.thumb.query { width: 42px; height: 42px; border-color: #1f2328; }
.thumb.hit { border-color: #1a7f37; }
.thumb.miss { border-color: #cf222e; }
.thumb.miss::after { content: "×"; position: absolute; top: -7px; right: -1px; color: #cf222e;
  font-weight: 700; font-size: 12px; text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.failed pre.reason { margin: 0; white-space: pre-wrap; word-break: break-word; max-width: 640px;
  color: #b42318; }
details { margin: 6px 0; }
details > summary { cursor: pointer; padding: 4px 0; }
pre.config { background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 10px 12px;
  overflow-x: auto; margin: 4px 0 12px; }
.status-failed { color: #b42318; }
footer { margin-top: 40px; color: #8c959f; font-size: 12px; }
`;
