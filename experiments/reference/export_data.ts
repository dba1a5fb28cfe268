/**
 * Writes the datasets exactly as kt feeds them to a network, as NumPy `.npy` files, so the
 * independent PyTorch reference (`pkt_protocol.py`, next to this file) trains and evaluates on
 * kt's own inputs: the same pixels, kt's normalisation, kt's fixed Fashion-MNIST split and, with
 * `--limit-train` / `--limit-test`, kt's stratified `limit` subsets.
 *
 *   deno run -A experiments/reference/export_data.ts [OUT_DIR] \
 *     [--datasets mnist,fashion-mnist] [--limit-train N] [--limit-test M]
 *
 * OUT_DIR defaults to /tmp/kt-reference-data. For each dataset it writes
 * `OUT_DIR/<dataset>/{train,test}_x.npy` (float32, N×28×28×1, NHWC as kt's tensors) and
 * `{train,test}_y.npy` (int32 labels), plus `meta.json` (the options used). kt never imports
 * this script.
 * @module
 */
import { parseArgs as parseFlags } from "node:util";
import { KtError, thrownSummary } from "../../src/errors.ts";
import { choiceFlag, intFlag } from "../../src/flags.ts";
import mnist from "../../plugins/datasets/mnist.ts";
import fashionMnist from "../../plugins/datasets/fashion_mnist.ts";

const PLUGINS = { mnist, "fashion-mnist": fashionMnist } as const;
type DatasetName = keyof typeof PLUGINS;

const USAGE = "usage: deno run -A experiments/reference/export_data.ts [OUT_DIR] " +
  "[--datasets mnist,fashion-mnist] [--limit-train N] [--limit-test M]";

interface Args {
  outDir: string;
  datasets: DatasetName[];
  limitTrain?: number;
  limitTest?: number;
}

function fail(message: string): never {
  console.error(`export_data: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function parseArgs(argv: string[]): Args {
  const { values: v, positionals } = parseFlags({
    args: argv,
    allowPositionals: true,
    options: {
      datasets: { type: "string", default: "mnist,fashion-mnist" },
      "limit-train": { type: "string" },
      "limit-test": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (positionals.length > 1) fail(`unexpected argument ${positionals[1]}`);
  const datasetName = choiceFlag("--datasets", Object.keys(PLUGINS) as DatasetName[]);
  const datasets = v.datasets.split(",").map((s) => s.trim()).filter((s) => s !== "")
    .map(datasetName);
  if (datasets.length === 0) fail("--datasets needs at least one name");
  const limit = (flag: string, value: string | undefined) =>
    value === undefined ? undefined : intFlag(flag, { min: 1, example: "10000" })(value);
  return {
    outDir: positionals[0] ?? "/tmp/kt-reference-data",
    datasets,
    limitTrain: limit("--limit-train", v["limit-train"]),
    limitTest: limit("--limit-test", v["limit-test"]),
  };
}

/**
 * An `.npy` file (format version 1.0): magic, version, little-endian uint16 header length, the
 * header dict padded with spaces to a multiple of 64 bytes ending in a newline, then raw data.
 */
export function npyBytes(
  descr: "<f4" | "<i4",
  shape: number[],
  data: Float32Array | Int32Array,
): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const preamble = 10; // 6 magic + 2 version + 2 header length
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header.padEnd(total - preamble - 1, " ") + "\n";
  if (header.length > 0xffff) throw new Error("npy header too long for format 1.0");
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(preamble + header.length + body.length);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), preamble);
  // Typed arrays use the platform's byte order; every platform Deno runs on is little-endian.
  out.set(body, preamble + header.length);
  return out;
}

async function main(): Promise<void> {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    fail("this platform is big-endian; the .npy writer assumes little-endian");
  }
  let args: Args;
  try {
    args = parseArgs(Deno.args);
  } catch (e) {
    // A flag parser's KtError (what, where, an example) or parseArgs' unknown-option error.
    fail(e instanceof KtError ? e.format() : thrownSummary(e));
  }
  const ctx = { cacheDir: ".kt/cache/datasets", seed: 0, log: (m: string) => console.error(m) };
  for (const name of args.datasets) {
    const plugin = PLUGINS[name];
    const dir = `${args.outDir}/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    const meta: Record<string, unknown> = { dataset: name, exportedBy: "kt export_data.ts" };
    for (const split of ["train", "test"] as const) {
      const limit = split === "train" ? args.limitTrain : args.limitTest;
      const opts = plugin.options.parse({ split, ...(limit !== undefined ? { limit } : {}) });
      const data = await plugin.load(opts, ctx);
      if (data.x.length !== data.size * data.shape[0] * data.shape[1] * data.shape[2]) {
        throw new Error(`${data.name}: ${data.x.length} values for ${data.size} samples`);
      }
      await Deno.writeFile(
        `${dir}/${split}_x.npy`,
        npyBytes("<f4", [data.size, ...data.shape], data.x),
      );
      await Deno.writeFile(`${dir}/${split}_y.npy`, npyBytes("<i4", [data.size], data.y));
      meta[split] = {
        options: opts,
        size: data.size,
        shape: data.shape,
        numClasses: data.numClasses,
        classNames: data.classNames,
      };
      console.error(`${data.name}: ${data.size} × ${data.shape.join("×")} → ${dir}/${split}_*.npy`);
    }
    await Deno.writeTextFile(`${dir}/meta.json`, JSON.stringify(meta, null, 2) + "\n");
  }
}

if (import.meta.main) await main();
