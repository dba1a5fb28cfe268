/**
 * The `kt` command line (commander). The entry point passes the plugin set in, so the engine never
 * imports a concrete plugin.
 * @module
 */
import { Command, CommanderError } from "commander";
import type { DatasetPlugin, ModelPlugin, Plugin, PluginContext } from "./api.ts";
import { KtError, unknownNameMessage } from "./errors.ts";
import { useBackend } from "./backend.ts";
import { trainModel } from "./train.ts";
import { predictLogits, saveModel } from "./model.ts";

/** Finds a plugin of `kind` by name, with a "did you mean" error on a miss. */
export function findPlugin<K extends Plugin["kind"]>(
  plugins: Plugin[],
  kind: K,
  name: string,
): Extract<Plugin, { kind: K }> {
  const found = plugins.find((p) => p.kind === kind && p.name === name);
  if (!found) {
    throw new KtError(
      unknownNameMessage(kind, name, plugins.filter((p) => p.kind === kind).map((p) => p.name)),
      { hint: "run `deno task kt plugins` to list the plugins" },
    );
  }
  return found as Extract<Plugin, { kind: K }>;
}

/** Parses plugin options (JSON text) against the plugin's schema, with a readable error. */
export function parseOptions<O>(
  plugin: {
    name: string;
    options: {
      safeParse(
        v: unknown,
      ): { success: true; data: O } | {
        success: false;
        error: { issues: { path: PropertyKey[]; message: string }[] };
      };
    };
  },
  json: string,
  flag: string,
): O {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new KtError(`${flag} is not valid JSON: ${(err as Error).message}`, {
      hint: `e.g. ${flag} '{"filters":[16,32]}'`,
    });
  }
  const parsed = plugin.options.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      `${i.path.map(String).join(".") || "(root)"}: ${i.message}`
    );
    throw new KtError(`invalid options for ${plugin.name}: ${issues.join("; ")}`, {
      hint: "run `deno task kt plugins` to see each plugin's options",
    });
  }
  return parsed.data;
}

function context(seed: number, cacheDir: string): PluginContext {
  return { cacheDir, seed, log: (m) => console.error(m) };
}

function buildProgram(plugins: Plugin[]): Command {
  const program = new Command("kt")
    .description("kt — declarative knowledge-transfer experiments (PKT, Hinton KD, FitNets)")
    .exitOverride()
    .showHelpAfterError();

  program.command("train")
    .description("train one model with cross-entropy and report test accuracy")
    .option("--data <name>", "dataset plugin", "mnist")
    .option("--data-options <json>", "dataset options (JSON)", "{}")
    .option("--model <name>", "model plugin", "cnn")
    .option("--model-options <json>", "model options (JSON)", "{}")
    .option("--epochs <n>", "epochs", "1")
    .option("--batch-size <n>", "batch size", "128")
    .option("--optimizer <type>", "adam | sgd", "adam")
    .option("--lr <x>", "learning rate", "0.001")
    .option("--seed <n>", "seed", "0")
    .option("--limit <n>", "stratified subset of the training split")
    .option("--backend <name>", "auto | wasm | cpu | webgpu | tensorflow | tensorflow-gpu", "auto")
    .option("--cache-dir <dir>", "download/cache directory", ".kt/cache")
    .option("--save <dir>", "save the trained model (tfjs format) here")
    .addHelpText(
      "after",
      `
Example:
  deno task kt train --data mnist --model cnn --model-options '{"filters":[16,32],"dense":[64]}' --epochs 1`,
    )
    .action(async (o) => {
      const choice = await useBackend(o.backend);
      console.error(`backend: ${choice.name} (${choice.reason})`);
      const dataPlugin = findPlugin(plugins, "dataset", o.data) as DatasetPlugin<
        Record<string, unknown>
      >;
      const modelPlugin = findPlugin(plugins, "model", o.model) as ModelPlugin<unknown>;
      const dataOpts = JSON.parse(o.dataOptions);
      const seed = Number(o.seed);
      const ctx = context(seed, o.cacheDir);
      const trainOpts = parseOptions(
        dataPlugin,
        JSON.stringify({
          ...dataOpts,
          split: "train",
          ...(o.limit ? { limit: Number(o.limit) } : {}),
        }),
        "--data-options",
      );
      const testOpts = parseOptions(
        dataPlugin,
        JSON.stringify({ ...dataOpts, split: "test" }),
        "--data-options",
      );
      const train = await dataPlugin.load(trainOpts, ctx);
      const test = await dataPlugin.load(testOpts, ctx);
      const model = modelPlugin.build(
        parseOptions(modelPlugin, o.modelOptions, "--model-options"),
        {
          inputShape: train.shape,
          numClasses: train.numClasses,
          seed,
        },
      );
      const t0 = performance.now();
      const history = trainModel(model, train, {
        epochs: Number(o.epochs),
        batchSize: Number(o.batchSize),
        optimizer: { type: o.optimizer, lr: Number(o.lr) },
        seed,
        progress: `${o.model}/${o.data}`,
      });
      const seconds = (performance.now() - t0) / 1000;
      const logits = predictLogits(model, test);
      let correct = 0;
      for (let i = 0; i < test.size; i++) {
        let best = 0;
        for (let c = 1; c < logits.dim; c++) {
          if (logits.values[i * logits.dim + c] > logits.values[i * logits.dim + best]) best = c;
        }
        if (best === test.y[i]) correct++;
      }
      const last = history[history.length - 1];
      console.log(
        `${o.model} on ${o.data}: test accuracy ${(100 * correct / test.size).toFixed(2)}% ` +
          `(${test.size} test samples) after ${history.length} epoch(s), ${train.size} training samples, ` +
          `${seconds.toFixed(1)} s, ${Math.round(last.samplesPerSecond)} samples/s, final loss ${
            last.loss.toFixed(4)
          }`,
      );
      if (o.save) {
        await saveModel(model, o.save);
        console.log(`saved to ${o.save}`);
      }
    });
  return program;
}

/** Runs the CLI; returns the exit code. User errors print one line (no stack trace). */
export async function runCli(args: string[], plugins: Plugin[]): Promise<number> {
  const program = buildProgram(plugins);
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof KtError) {
      console.error(`error: ${err.format()}`);
      return 1;
    }
    throw err;
  }
}
