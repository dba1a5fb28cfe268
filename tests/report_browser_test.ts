/**
 * Opens rendered `kt report`s in headless Chromium (driven over the Chrome DevTools Protocol), at
 * 1280 and 800 px wide, and checks what a reader sees: no console errors or exceptions, no network
 * requests, no page wider than the window (wide tables scroll in their box), one table row per
 * method and per reference, hostile method names shown as text, every chart drawn and inside the
 * window — the dot plot's means and seeds, reference lines, evaluation curves — with x labels that
 * do not overlap, the retrieval gallery's thumbnails drawn from their embedded images, and, for a
 * sweep over two axes, the title naming both and the colour legend
 * (screenshots of each chart decoded with the small PNG decoder below).
 *
 * Needs the Debian package `chromium` (or a browser binary named by `KT_CHROMIUM`). Without it the
 * test is skipped, except under CI (`CI` set), where it fails. Set `KT_REPORT_SCREENSHOT=/path.png`
 * to keep a full-page screenshot.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { renderReport, type ReportTrial } from "../src/report.ts";
import { encodePng, type Gallery } from "../src/gallery.ts";
import type { EpochPoint } from "../src/results.ts";

const CHROMIUM_PATHS = Deno.env.get("KT_CHROMIUM")?.split(":") ??
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const CHROMIUM = CHROMIUM_PATHS.find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const IN_CI = Deno.env.get("CI") !== undefined;

// ---------------------------------------------------------------------------------------------
// PNG decoding (8-bit, non-interlaced; the formats Chromium's screenshots use)

/** A decoded image, 4 bytes (RGBA) per pixel, rows top to bottom. */
interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes a PNG (grey, grey+alpha, RGB or RGBA at 8 bits, filter types 0–4) to RGBA. */
async function decodePng(bytes: Uint8Array): Promise<Image> {
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE, "not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0, height = 0, channels = 0;
  const idat: Uint8Array[] = [];
  for (let pos = 8; pos < bytes.length;) {
    const length = view.getUint32(pos);
    const type = new TextDecoder().decode(bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    pos += 12 + length;
    if (type === "IHDR") {
      width = view.getUint32(16);
      height = view.getUint32(20);
      const [depth, colorType, , , interlace] = data.subarray(8, 13);
      assert.equal(depth, 8, `unsupported PNG bit depth ${depth}`);
      assert.equal(interlace, 0, "interlaced PNGs are not supported");
      channels = CHANNELS[colorType];
      assert.ok(channels, `unsupported PNG colour type ${colorType}`);
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
  }
  const joined = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
  idat.reduce((offset, d) => (joined.set(d, offset), offset + d.length), 0);
  const raw = await inflate(joined);
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1), "PNG data has the wrong length");
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[out + i - channels] : 0;
      const b = y > 0 ? pixels[out - stride + i] : 0;
      const c = y > 0 && i >= channels ? pixels[out - stride + i - channels] : 0;
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter type ${filter} in row ${y}`);
      }
      pixels[out + i] = (line[i] + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const src = pixels.subarray(p * channels, (p + 1) * channels);
    const grey = channels <= 2;
    rgba[4 * p] = src[0];
    rgba[4 * p + 1] = grey ? src[0] : src[1];
    rgba[4 * p + 2] = grey ? src[0] : src[2];
    rgba[4 * p + 3] = channels === 2 ? src[1] : channels === 4 ? src[3] : 255;
  }
  return { width, height, rgba };
}

/** Pixels whose colour differs from `bg` by more than `tolerance` in some channel. */
function countDiffering(image: Image, bg: number[], tolerance: number): number {
  let n = 0;
  for (let p = 0; p < image.width * image.height; p++) {
    for (let ch = 0; ch < 3; ch++) {
      if (Math.abs(image.rgba[4 * p + ch] - bg[ch]) > tolerance) {
        n++;
        break;
      }
    }
  }
  return n;
}

// A PNG encoder for the decoder's own test: naive forward filters, chunks without CRCs (the
// decoder does not read them).
async function encodeTestPng(
  width: number,
  height: number,
  channels: number,
  pixels: Uint8Array,
  filterOf: (row: number) => number,
): Promise<Uint8Array> {
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : pixels[y * stride + x]);
  for (let y = 0; y < height; y++) {
    const f = filterOf(y);
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const [a, b, c] = [at(i - channels, y), at(i, y - 1), at(i - channels, y - 1)];
      const paeth = [a, b, c][
        [Math.abs(b - c), Math.abs(a - c), Math.abs(a + b - 2 * c)]
          .reduce((best, d, k, all) => (d < all[best] ? k : best), 0)
      ];
      const pred = [0, a, b, Math.floor((a + b) / 2), paeth][f];
      raw[y * (stride + 1) + 1 + i] = (at(i, y) - pred + 256) % 256;
    }
  }
  const zipped = new Uint8Array(
    await new Response(
      new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")),
    ).arrayBuffer(),
  );
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    new DataView(out.buffer).setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, { 1: 0, 2: 4, 3: 2, 4: 6 }[channels]!, 0, 0, 0], 8);
  const half = Math.floor(zipped.length / 2);
  const parts = [
    new Uint8Array(PNG_SIGNATURE),
    chunk("IHDR", ihdr),
    chunk("IDAT", zipped.subarray(0, half)), // split over two IDAT chunks, as large PNGs are
    chunk("IDAT", zipped.subarray(half)),
    chunk("IEND", new Uint8Array()),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (png.set(p, o), o + p.length), 0);
  return png;
}

Deno.test("decodePng() inverts every filter type (0–4) for RGB, RGBA and grey images", async () => {
  for (const channels of [1, 3, 4]) {
    const [width, height] = [7, 10];
    const pixels = new Uint8Array(width * height * channels);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 97 + (i >> 3) * 13) % 256;
    const png = await encodeTestPng(width, height, channels, pixels, (row) => row % 5);
    const image = await decodePng(png);
    assert.equal(image.width, width);
    assert.equal(image.height, height);
    for (let p = 0; p < width * height; p++) {
      const want = channels === 1 ? [pixels[p], pixels[p], pixels[p], 255] : [
        ...pixels.subarray(p * channels, p * channels + 3),
        channels === 4 ? pixels[4 * p + 3] : 255,
      ];
      assert.deepEqual([...image.rgba.subarray(4 * p, 4 * p + 4)], want, `pixel ${p}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// A tiny Chrome DevTools Protocol client

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** Resolves `promise`, or rejects after `ms` saying what was awaited; never leaks its timer. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class Cdp {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<
    number,
    { resolve(v: Record<string, unknown>): void; reject(e: Error): void }
  >();
  #listeners = new Set<(m: CdpMessage) => void>();
  #closed: Promise<void>;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#closed = new Promise((resolve) => ws.addEventListener("close", () => resolve()));
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(String(e.data)) as CdpMessage;
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`CDP: ${msg.error.message}`));
        else p?.resolve(msg.result ?? {});
      } else {
        for (const l of this.#listeners) l(msg);
      }
    });
  }

  static async connect(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve());
        ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
      }),
      5000,
      "DevTools WebSocket",
    );
    return new Cdp(ws);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return within(reply, 10_000, method);
  }

  on(listener: (m: CdpMessage) => void): void {
    this.#listeners.add(listener);
  }

  waitFor(method: string, ms: number): Promise<CdpMessage> {
    return within(
      new Promise((resolve) => {
        const l = (m: CdpMessage) => {
          if (m.method === method) {
            this.#listeners.delete(l);
            resolve(m);
          }
        };
        this.#listeners.add(l);
      }),
      ms,
      method,
    );
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close();
    }
    if (this.#ws.readyState !== WebSocket.CLOSED) await within(this.#closed, 3000, "ws close");
    for (const p of this.#pending.values()) p.reject(new Error("connection closed"));
    this.#pending.clear();
  }
}

/** A headless Chromium with its DevTools endpoint; `close()` kills it and removes its profile. */
interface Browser {
  cdp: Cdp;
  close(): Promise<void>;
}

async function launchChromium(path: string): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "kt-report-chromium-" });
  const child = new Deno.Command(path, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--hide-scrollbars",
      `--user-data-dir=${profile}`,
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  let announce: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => (announce = resolve));
  // Drain stderr to the end (a full pipe would block Chromium); catch the DevTools URL on the way.
  const drained = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += text;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) announce(m[1]);
    }
  })();
  let cdp: Cdp | undefined;
  const close = async () => {
    try {
      if (cdp) {
        await cdp.send("Browser.close").catch(() => {});
        await cdp.close().catch(() => {});
      }
      await within(child.status, 3000, "chromium exit").catch(() => {
        child.kill("SIGKILL");
      });
      await child.status;
      await drained.catch(() => {});
    } finally {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  };
  try {
    const url = await within(
      Promise.race([
        listening,
        child.status.then((s) => {
          throw new Error(`chromium exited (code ${s.code}) before DevTools started:\n${stderr}`);
        }),
      ]),
      10_000,
      "the DevTools URL on chromium's stderr",
    );
    cdp = await Cdp.connect(url);
    return { cdp, close };
  } catch (e) {
    await close();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The report under test

const EVIL = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;

function curve(node: string, losses: number[]): EpochPoint[] {
  return losses.map((loss, epoch) => ({ node, epoch, loss, samplesPerSecond: 100 }));
}

/** Seconds after a fixed instant, as ISO text (trial start and end times). */
function at(seconds: number): string {
  return new Date(Date.UTC(2026, 10, 27, 10, 0, seconds)).toISOString();
}

function demoTrials(): ReportTrial[] {
  const methods: [string, number, number[]][] = [
    ["pkt", 0.51, [0.02, 0.012, 0.009, 0.008]],
    ["hinton", 0.47, [1.2, 0.9, 0.75, 0.7]],
    [EVIL, 0.39, [2.1, 1.4, 1.1, 1.0]],
  ];
  const trials: ReportTrial[] = [];
  for (const [method, map, loss] of methods) {
    for (const seed of [0, 1, 2]) {
      const d = (seed - 1) * 0.01;
      trials.push({
        label: `method=${method},seed=${seed}`,
        params: { method },
        seed,
        status: "done",
        started: at(0),
        finished: at(20 + seed),
        metrics: {
          mAP: map + d,
          "P@10": map + 0.2 + d,
          "P@20": map + 0.16 + d,
          "P@50": map + 0.1 + d,
          "P@100": map + 0.05 + d,
          accuracy: 0.9 + d,
        },
        config: { student: { use: "transfer", loss: method, epochs: 4, seed } },
        references: [
          {
            label: "teacher",
            key: "T",
            metrics: { mAP: 0.62, "P@10": 0.9, "P@20": 0.85, "P@50": 0.8, "P@100": 0.7 },
          },
          {
            label: "plain student",
            key: `B${seed}`,
            metrics: { mAP: 0.3 + d, "P@10": 0.6 + d, "P@20": 0.55, "P@50": 0.5, "P@100": 0.4 + d },
          },
        ],
        curves: [
          ...curve("teacher", [2, 1, 0.5, 0.4]),
          ...curve("student", loss.map((l) => l * (1 + d))),
          ...[1, 3].map((epoch, i) => ({
            node: "student",
            phase: "eval:mAP",
            epoch,
            loss: map - 0.05 * (1 - i) + d,
            samplesPerSecond: 0,
          })),
        ],
      });
    }
  }
  trials.push({
    label: "method=pkt,seed=3",
    params: { method: "pkt" },
    seed: 3,
    status: "failed",
    reason: "student: loss became NaN at epoch 3, step 17",
    metrics: {},
  });
  return trials;
}

/** Two sweep axes (method × student.lr), 3 seeds: the dot plot's groups, colours and legend. */
function twoAxisTrials(): ReportTrial[] {
  return ["pkt", "hinton-official", "hint-optimized", "none"].flatMap((method, mi) =>
    [0.0001, 0.001, 0.01].flatMap((lr, li) =>
      [0, 1, 2].map((seed): ReportTrial => ({
        label: `method=${method} student.lr=${lr} seed=${seed}`,
        params: { method, "student.lr": lr },
        seed,
        status: "done",
        metrics: { mAP: 0.8 + 0.01 * mi - 0.02 * li + 0.003 * seed },
      }))
    )
  );
}

/** A gallery of 2 queries × the demo's 3 methods, with 28×28 striped images. */
async function demoGallery(): Promise<Gallery> {
  const images: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    const pixels = Uint8Array.from(
      { length: 28 * 28 },
      (_, p) => ((p % 28) + i * 3) % 7 < 3 ? 255 : 0,
    );
    const png = await encodePng(28, 28, 1, pixels);
    images[`img-${i}`] = `data:image/png;base64,${btoa(String.fromCharCode(...png))}`;
  }
  const methods = ["pkt", "hinton", EVIL].map((m) => `method=${m}`);
  const rows = [0, 1].map((q) =>
    methods.map((method, m) => ({
      method,
      images: Array.from({ length: 10 }, (_, r) => `img-${(q + m + r) % 12}`),
      labels: Array.from({ length: 10 }, (_, r) => (r + m) % 3 === 0 ? q + 1 : q),
      hits: Array.from({ length: 10 }, (_, r) => (r + m) % 3 !== 0),
    }))
  );
  return {
    node: "eval",
    k: 10,
    queries: [0, 1].map((q) => ({ index: q * 7, label: q, image: `img-${q}` })),
    rows,
    methods: methods.map((method) => ({ method, trial: `${method},seed=0` })),
    skipped: [],
    images,
  };
}

/** What one page at one width must show. */
interface PageCheck {
  name: string;
  trials: ReportTrial[];
  gallery?: Gallery;
  charts: string[];
  /** Extra checks, with `evaluate` bound to the page. */
  extra(evaluate: <T>(expression: string) => Promise<T>, width: number): Promise<void>;
}

Deno.test({
  name:
    "the report renders in headless Chromium at 1280 and 800 px: no errors, requests, overflow or blank charts",
  ignore: !CHROMIUM && !IN_CI,
  async fn() {
    if (!CHROMIUM) {
      throw new Error(
        `chromium not found (looked in ${CHROMIUM_PATHS.join(", ")}); CI needs it for this test: ` +
          "apt-get update && apt-get install -y chromium",
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "kt-report-browser-" });
    let browser: Browser | undefined;
    try {
      const pages: PageCheck[] = [
        {
          name: "demo",
          trials: demoTrials(),
          gallery: await demoGallery(),
          charts: ["chart-map", "chart-pk", "chart-loss-1", "chart-eval-1"],
          async extra(evaluate) {
            const methods = 3;
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("table.results tbody tr").length`),
              methods + 2,
            );
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("tr.reference-row .tag").length`),
              2,
            );
            // The hostile method name is text: nothing ran, and it reads back verbatim.
            assert.equal(await evaluate<string>("typeof window.__pwned"), "undefined");
            assert.equal(await evaluate<number>("document.scripts.length"), 0);
            assert.ok(
              await evaluate<boolean>(
                `document.querySelector("table.results").textContent.includes(${
                  JSON.stringify(EVIL)
                })`,
              ),
            );
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("details.config").length`),
              methods,
            );
            // Nine seeds, nine dots; the zoomed axis is said in the caption.
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("#chart-map .seed-point").length`),
              9,
            );
            assert.match(
              await evaluate<string>(`document.querySelector("#map .caption").textContent`),
              /The axis is zoomed/,
            );
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("#chart-map line.refline").length`),
              2,
              "one dashed line per reference in the mAP chart",
            );
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("table.significance").length`),
              1,
            );
            // The gallery: 2 queries × 3 methods × 10 thumbnails, each drawn, hits and misses.
            const thumbs = await evaluate<{ w: number; h: number; image: string; hit: boolean }[]>(
              `[...document.querySelectorAll("#gallery td.thumbs .thumb")].map((t) => {
                const r = t.getBoundingClientRect();
                return { w: r.width, h: r.height, image: getComputedStyle(t).backgroundImage,
                  hit: t.classList.contains("hit") };
              })`,
            );
            assert.equal(thumbs.length, 60);
            assert.ok(
              thumbs.every((t) =>
                t.w >= 28 && t.h >= 28 && t.image.startsWith('url("data:image/png')
              ),
            );
            assert.equal(thumbs.filter((t) => !t.hit).length, 20);
          },
        },
        {
          name: "two-axes",
          trials: twoAxisTrials(),
          charts: ["chart-map"],
          async extra(evaluate) {
            assert.equal(
              await evaluate<string>(`document.querySelector("#map h2").textContent`),
              "mAP per method and student.lr",
            );
            const legend = await evaluate<{ text: string; width: number }[]>(
              `[...document.querySelectorAll("#map .legend li")].map((li) =>
                ({ text: li.textContent, width: li.getBoundingClientRect().width }))`,
            );
            assert.deepEqual(legend.map((l) => l.text), [
              "student.lr:",
              "student.lr=0.0001",
              "student.lr=0.001",
              "student.lr=0.01",
            ]);
            assert.ok(legend.every((l) => l.width > 0), "the legend is visible");
            assert.equal(
              await evaluate<number>(`document.querySelectorAll("#chart-map line.mean").length`),
              12,
            );
            assert.deepEqual(
              await evaluate<string[]>(
                `[...document.querySelectorAll("table.results thead th.left")].map((t) => t.textContent)`,
              ),
              ["method", "student.lr"],
            );
          },
        },
      ];
      browser = await launchChromium(CHROMIUM);
      const { cdp } = browser;
      for (const page of pages) {
        const file = join(dir, `${page.name}.html`);
        await Deno.writeTextFile(
          file,
          renderReport({
            run: { experiment: `browser-check ${page.name}`, id: 3, started: at(0) },
            trials: page.trials,
            gallery: page.gallery,
          }),
        );
        for (const width of [1280, 800]) {
          await checkPage(cdp, new URL(`file://${file}`).href, width, page);
        }
      }
    } finally {
      await browser?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Loads `url` at `width` and checks it (see the module doc and `page`). */
async function checkPage(cdp: Cdp, url: string, width: number, page: PageCheck): Promise<void> {
  const where = `${page.name} at ${width} px`;
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  const s = String(sessionId);
  const problems: string[] = [];
  const requests: string[] = [];
  cdp.on((m) => {
    if (m.sessionId !== s) return;
    const p = m.params ?? {};
    if (m.method === "Runtime.exceptionThrown") {
      problems.push(`exception: ${JSON.stringify(p.exceptionDetails)}`);
    } else if (
      m.method === "Runtime.consoleAPICalled" &&
      ["error", "warning", "assert"].includes(String(p.type))
    ) {
      problems.push(`console.${p.type}: ${JSON.stringify(p.args)}`);
    } else if (m.method === "Log.entryAdded") {
      const entry = p.entry as { level: string; text: string };
      if (entry.level === "error" || entry.level === "warning") {
        problems.push(`log ${entry.level}: ${entry.text}`);
      }
    } else if (m.method === "Network.requestWillBeSent") {
      requests.push(String((p.request as { url: string }).url));
    }
  });
  for (const domain of ["Page", "Runtime", "Log", "Network"]) {
    await cdp.send(`${domain}.enable`, {}, s);
  }
  await cdp.send("Emulation.setDeviceMetricsOverride", {
    width,
    height: 900,
    deviceScaleFactor: 1,
    mobile: false,
  }, s);
  const loaded = cdp.waitFor("Page.loadEventFired", 10_000);
  await cdp.send("Page.navigate", { url }, s);
  await loaded;

  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await cdp.send("Runtime.evaluate", { expression, returnByValue: true }, s);
    if (r.exceptionDetails) {
      throw new Error(`evaluate failed: ${JSON.stringify(r.exceptionDetails)}`);
    }
    return (r.result as { value: T }).value;
  };

  // Nothing wider than the window: wide tables scroll inside their box, charts shrink.
  const pageWidth = await evaluate<number>("document.documentElement.scrollWidth");
  assert.ok(pageWidth <= width, `${where}: the page is ${pageWidth} px wide`);
  await page.extra(evaluate, width);

  const charts = await evaluate<
    {
      id: string;
      x: number;
      y: number;
      width: number;
      height: number;
      bg: string;
      colors: string[];
      lines: string[];
      labels: { left: number; right: number; top: number; bottom: number }[];
    }[]
  >(`[...document.querySelectorAll("svg.chart")].map((e) => {
    const r = e.getBoundingClientRect();
    return { id: e.id, x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height,
      bg: getComputedStyle(e).backgroundColor,
      colors: [...new Set([...e.querySelectorAll("line.mean")].map((l) => l.getAttribute("stroke")))],
      lines: [...new Set([...e.querySelectorAll("polyline.series, line.refline")].map((l) => l.getAttribute("stroke")))],
      labels: [...e.querySelectorAll("text.xlabel")].map((t) => {
        const b = t.getBoundingClientRect();
        return { left: b.left, right: b.right, top: b.top, bottom: b.bottom };
      }) };
  })`);
  assert.deepEqual(charts.map((c) => c.id), page.charts, where);
  const hex = (color: string) => [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  for (const chart of charts) {
    assert.ok(chart.x + chart.width <= width, `${where}: ${chart.id} is wider than the window`);
    // x labels never overlap (rotated or not).
    chart.labels.forEach((a, i) =>
      chart.labels.slice(i + 1).forEach((b) => {
        const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top ||
          b.bottom <= a.top;
        const rotated = Math.abs((a.bottom - a.top) - (b.bottom - b.top)) < 1 &&
          a.bottom - a.top > 20;
        assert.ok(apart || rotated, `${where}: ${chart.id} x labels overlap`);
      })
    );
    const shot = await cdp.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: chart.x, y: chart.y, width: chart.width, height: chart.height, scale: 1 },
    }, s);
    const image = await decodePng(
      Uint8Array.from(atob(String(shot.data)), (c) => c.charCodeAt(0)),
    );
    const bg = (/rgba?\((\d+), (\d+), (\d+)/.exec(chart.bg) ?? [0, 255, 255, 255]).slice(1).map(
      Number,
    );
    const inked = countDiffering(image, bg, 40);
    const total = image.width * image.height;
    assert.ok(
      inked > 0.01 * total,
      `${where}: ${chart.id}: only ${inked} of ${total} pixels drawn`,
    );
    // Every mean of the dot plot, line chart series and reference line shows in its colour.
    for (const color of chart.colors) {
      const painted = total - countDiffering(image, hex(color), 8);
      assert.ok(painted >= 15, `${where}: ${chart.id}: mean ${color} has only ${painted} px`);
    }
    for (const color of chart.lines) {
      const painted = total - countDiffering(image, hex(color), 8);
      assert.ok(painted >= 40, `${where}: ${chart.id}: series ${color} has only ${painted} px`);
    }
  }

  const keep = Deno.env.get("KT_REPORT_SCREENSHOT");
  if (keep) {
    const size = await evaluate<{ w: number; h: number }>(
      "({ w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight })",
    );
    await evaluate<void>(`document.querySelectorAll("details").forEach((d) => d.open = true)`);
    const shot = await cdp.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: size.w, height: size.h, scale: 1 },
    }, s);
    await Deno.writeFile(
      keep.replace(/\.png$/, `-${page.name}-${width}.png`),
      Uint8Array.from(atob(String(shot.data)), (c) => c.charCodeAt(0)),
    );
  }

  assert.deepEqual(problems, [], `${where}: console errors, warnings or exceptions`);
  assert.deepEqual(
    // Embedded images (data: URIs) are no requests; anything else is.
    requests.filter((r) => r !== url && !r.startsWith("data:")),
    [],
    `${where}: the report requested other resources`,
  );
  await cdp.send("Target.closeTarget", { targetId });
}
