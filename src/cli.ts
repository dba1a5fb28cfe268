/**
 * The `kt` command line (commander). The entry point passes the plugin set in, so the engine never
 * imports a concrete plugin.
 * @module
 */
import { Command, CommanderError } from "commander";
import { isAbsolute, join, resolve } from "node:path";
import type { DatasetPlugin, JobSpec, ModelPlugin, Plugin, PluginContext } from "./api.ts";
import { describeError, KtError, OptionError } from "./errors.ts";
import { choiceFlag, dirFlag, intFlag, jsonObjectFlag, numberFlag } from "./flags.ts";
import { useBackend } from "./backend/select.ts";
import { trainModel } from "./train.ts";
import { predictLogits, saveModel } from "./model.ts";
import { createRegistry, type Registry } from "./registry.ts";
import { type LoadedExperiment, loadExperiment } from "./config/mod.ts";
import { planTrial, runJob, runJobInProcess } from "./engine/execute.ts";
import {
  isProvenance,
  openHashMemo,
  provenanceContext,
  staleDependents,
  staleReason,
} from "./provenance.ts";
import { metricsNodes } from "./engine/references.ts";
import { preflight, WASM_MEMORY_BYTES } from "./engine/preflight.ts";
import { memoryBytes } from "./memory.ts";
import { checkTrainingMemory } from "./steps.ts";
import { runSweep } from "./engine/sweep.ts";
import { eventLine } from "./engine/worker_protocol.ts";
import { openCache } from "./cache.ts";
import { openResults, requireResults, runNote, runState } from "./results.ts";
import { compareMetricNames, type ComparisonTable, comparisonTable } from "./table.ts";
import { compareRuns, sourceLabels } from "./compare.ts";
import { formatTable, TABLE_FORMAT_NAMES, tableFormat } from "./table_format.ts";

const OPTIMIZERS = ["adam", "sgd"] as const;
import { describePlugins } from "./describe.ts";
import { allowFlag, denoCommand } from "./permissions.ts";
import { galleryMethods, loadReportInput, writeReport } from "./report.ts";
import { buildGallery } from "./gallery.ts";
import { exportModel } from "./export.ts";

/**
 * Checks plugin options (JSON text, or a value already parsed from it) against the plugin's
 * schema, with a readable error naming `flag`.
 */
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
  json: string | Record<string, unknown>,
  flag: string,
): O {
  const raw = typeof json === "string" ? jsonObjectFlag(flag, '{"filters":[16,32]}')(json) : json;
  const parsed = plugin.options.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      `${i.path.map(String).join(".") || "(root)"}: ${i.message}`
    );
    throw new KtError(`invalid options for ${plugin.name}: ${issues.join("; ")}`, {
      where: flag,
      hint: "run `deno task kt plugins` to see each plugin's options",
    });
  }
  return parsed.data;
}

function context(seed: number, cacheDir: string): PluginContext {
  return { cacheDir, seed, log: (m) => console.error(m) };
}

/** Where the CLI runs from: the entry file workers are started with. */
export interface CliEnv {
  /** Absolute path or file URL of the entry point (main.ts). */
  entry: string;
}

const DEFAULT_CACHE = ".kt/cache";

function abs(path: string): string {
  return isAbsolute(path) ? path : resolve(Deno.cwd(), path);
}

/** Cache and run directories of an experiment (CLI flags win over the file, then defaults). */
function dirsOf(loaded: LoadedExperiment, o: { cacheDir?: string; runDir?: string }) {
  return {
    cacheDir: abs(o.cacheDir ?? loaded.experiment.cacheDir ?? DEFAULT_CACHE),
    runDir: abs(o.runDir ?? loaded.experiment.runDir ?? join("runs", loaded.experiment.name)),
  };
}

const OVERRIDES_HELP = "changes to the experiment, path=value (YAML): student.epochs=3 " +
  "'sweep.seeds=[0,1]' backend=cpu (a path starting with a node's name is under nodes)";

/** The experiment file of `run`: a YAML file itself, or the one a run directory recorded. */
function experimentOf(run: string): string {
  if (/\.ya?ml$/.test(run)) return run;
  requireResults(run);
  const db = openResults(run);
  try {
    const file = db.latestRun()?.file;
    if (!file) {
      throw new KtError(`${run} records no experiment file`, {
        hint: "name the experiment's .yaml file instead",
      });
    }
    return file;
  } finally {
    db.close();
  }
}

/** Every metric of the runs' finished trials, in table order. */
function allMetrics(sources: { trials: { status: string; metrics: Record<string, number> }[] }[]) {
  const names = new Set<string>();
  for (const s of sources) {
    for (const t of s.trials) {
      if (t.status === "done" || t.status === "cached") {
        Object.keys(t.metrics).forEach((m) => names.add(m));
      }
    }
  }
  return [...names].sort(compareMetricNames);
}

/** `--format`: the table's format; default `text` on a terminal, `md` when piped. */
const FORMAT_FLAG = [
  "--format <format>",
  "table format: text | md | csv | json (default: text on a terminal, md otherwise)",
  choiceFlag("--format", TABLE_FORMAT_NAMES),
] as const;

/** Prints a table in the `--format` asked for (or the default); returns the format used. */
function printTable(table: ComparisonTable, name: string | undefined) {
  const terminal = Deno.stdout.isTerminal();
  const format = tableFormat(name ?? (terminal ? "text" : "markdown"));
  const width = terminal
    ? Deno.consoleSize().columns
    : Number(Deno.env.get("COLUMNS")) || undefined;
  const color = terminal && !Deno.env.get("NO_COLOR");
  console.log(formatTable(table, format, { width, color }).trimEnd());
  return format;
}

function buildProgram(plugins: Plugin[], env: CliEnv): Command {
  const registry: Registry = createRegistry(plugins);
  const program = new Command("kt")
    .description("kt — declarative knowledge-transfer experiments (PKT, Hinton KD, FitNets)")
    .option("--debug", "print the stack trace of an error (for bug reports)")
    .option("--verbose", "a line for every job that starts, reports an epoch or ends")
    .exitOverride()
    .showHelpAfterError();

  program.command("train")
    .description("train one model with cross-entropy and report test accuracy")
    .option("--data <name>", "dataset plugin", "mnist")
    .option(
      "--data-options <json>",
      "dataset options (JSON)",
      jsonObjectFlag("--data-options", '{"limit":1000}'),
      {},
    )
    .option("--model <name>", "model plugin", "cnn")
    .option(
      "--model-options <json>",
      "model options (JSON)",
      jsonObjectFlag("--model-options", '{"filters":[16,32]}'),
      {},
    )
    .option("--epochs <n>", "epochs", intFlag("--epochs", { min: 1, max: 1e6, example: "5" }), 1)
    .option(
      "--batch-size <n>",
      "batch size",
      intFlag("--batch-size", { min: 1, max: 1e6, example: "128" }),
      128,
    )
    .option("--optimizer <type>", "adam | sgd", choiceFlag("--optimizer", OPTIMIZERS), "adam")
    .option("--lr <x>", "learning rate", numberFlag("--lr", { above: 0, example: "0.001" }), 0.001)
    .option(
      "--beta1 <x>",
      "Adam β1",
      numberFlag("--beta1", { min: 0, below: 1, example: "0.9" }),
      0.9,
    )
    .option(
      "--beta2 <x>",
      "Adam β2",
      numberFlag("--beta2", { min: 0, below: 1, example: "0.999" }),
      0.999,
    )
    .option(
      "--epsilon <x>",
      "Adam ε (PyTorch's default; tfjs's own is 1e-7)",
      numberFlag("--epsilon", { above: 0, example: "1e-8" }),
      1e-8,
    )
    .option("--seed <n>", "seed", intFlag("--seed", { min: 0, example: "0" }), 0)
    .option(
      "--limit <n>",
      "stratified subset of the training split",
      intFlag("--limit", { min: 1, example: "1000" }),
    )
    .option("--backend <name>", "auto | wasm | cpu | webgpu | tensorflow | tensorflow-gpu", "auto")
    .option(
      "--cache-dir <dir>",
      "download/cache directory",
      dirFlag("--cache-dir", ".kt/cache"),
      ".kt/cache",
    )
    .option("--save <dir>", "save the trained model (tfjs format) here")
    .option(
      "--threads <n>",
      "threads for training on wasm (results do not depend on it)",
      intFlag("--threads", { min: 1, max: 1024, example: "2" }),
      navigator.hardwareConcurrency || 1,
    )
    .addHelpText(
      "after",
      `
Example:
  deno task kt train --data mnist --model cnn --model-options '{"filters":[16,32],"dense":[64]}' --epochs 1`,
    )
    .action(async (o) => {
      const choice = await useBackend(o.backend, { threads: o.threads });
      console.error(
        `backend: ${choice.name} (${choice.reason})` +
          (choice.threads > 1 ? `, ${choice.threads} threads` : ""),
      );
      const dataPlugin = registry.get("dataset", o.data) as DatasetPlugin<Record<string, unknown>>;
      const modelPlugin = registry.get("model", o.model) as ModelPlugin<unknown>;
      const modelOpts = parseOptions(modelPlugin, o.modelOptions, "--model-options");
      const dataOpts = o.dataOptions as Record<string, unknown>;
      const seed = o.seed as number;
      const ctx = context(seed, o.cacheDir);
      const trainOpts = parseOptions(
        dataPlugin,
        { ...dataOpts, split: "train", ...(o.limit !== undefined ? { limit: o.limit } : {}) },
        "--data-options",
      );
      const testOpts = parseOptions(dataPlugin, { ...dataOpts, split: "test" }, "--data-options");
      const train = await dataPlugin.load(trainOpts, ctx);
      const test = await dataPlugin.load(testOpts, ctx);
      checkTrainFlags(modelPlugin, modelOpts, train, o.batchSize, choice.name);
      const model = modelPlugin.build(
        modelOpts,
        {
          inputShape: train.shape,
          numClasses: train.numClasses,
          seed,
        },
      );
      const t0 = performance.now();
      const history = await trainModel(model, train, {
        epochs: o.epochs,
        batchSize: o.batchSize,
        optimizer: {
          type: o.optimizer,
          lr: o.lr,
          beta1: o.beta1,
          beta2: o.beta2,
          epsilon: o.epsilon,
        },
        seed,
        progress: `${o.model}/${o.data}`,
      });
      const seconds = (performance.now() - t0) / 1000;
      const logits = await predictLogits(model, test);
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
  program.command("sweep")
    .description("run (or resume) every trial of an experiment file and print the comparison table")
    .argument("<file>", "experiment YAML")
    .argument("[overrides...]", OVERRIDES_HELP)
    .option(
      "-j, --jobs <n>",
      "parallel jobs",
      intFlag("--jobs", { min: 1, max: 1024, example: "2" }),
      navigator.hardwareConcurrency || 2,
    )
    .option(
      "--executor <name>",
      "where jobs run: local (worker processes) | inline | slurm",
      "local",
    )
    .option(
      "--executor-options <json>",
      "executor options (JSON)",
      jsonObjectFlag("--executor-options", '{"jobs":2}'),
      {},
    )
    .option(
      "--cache-dir <dir>",
      "artifact cache (default: the file's cacheDir or .kt/cache)",
      dirFlag("--cache-dir", ".kt/cache"),
    )
    .option(
      "--run-dir <dir>",
      "run directory with results.sqlite (default: runs/<name>)",
      dirFlag("--run-dir", "runs/my-run"),
    )
    .option(...FORMAT_FLAG)
    .addHelpText(
      "after",
      `
Examples:
  deno task sweep experiments/quickstart.yaml
  deno task sweep experiments/quickstart.yaml student.epochs=1 'sweep.seeds=[0,1,2]'
  deno task sweep experiments/mnist_pkt.yaml --jobs 2 --format csv`,
    )
    .action(async (file: string, overrides: string[], o) => {
      const loaded = await loadExperiment(file, registry, { overrides });
      const { cacheDir, runDir } = dirsOf(loaded, o);
      await preflight(loaded, { cacheDir: join(cacheDir, "datasets") });
      const executor = loaded.experiment.registry.get("executor", o.executor);
      const executorOptions = parseOptions(executor, o.executorOptions, "--executor-options");
      // Workers start with this deno: say now, before anything runs, if kt may not start it.
      if (o.executor !== "inline") denoCommand();
      const backend = {};
      const report = await runSweep(loaded, {
        // Ctrl-C: ask on a terminal, else stop at once; running trials end up interrupted.
        interrupt: Deno.stdin.isTerminal() ? "ask" : "stop",
        cacheDir,
        runDir,
        jobs: o.jobs,
        executor,
        executorOptions,
        workerCommand: (job) => workerCommand(env, job),
        runInProcess: (job, events) => runJobInProcess(loaded, job, events, backend),
        verbose: program.opts().verbose === true,
      });
      printTable(comparisonTable(report.trials), o.format);
      const executed = Object.entries(report.executed).map(([k, v]) => `${k} ×${v}`).join(", ");
      const finished = report.trials.length - report.failed - report.interrupted;
      console.error(
        `${report.trials.length} trials: ${finished} finished, ${report.failed} failed` +
          (report.interrupted > 0 ? `, ${report.interrupted} interrupted` : "") +
          ` · ran ${executed || "nothing (all cached)"} · ` +
          `${report.cached} cached${cacheSaving(report)}` +
          (report.reused > 0 ? ` (${report.reused} computed by another sweep meanwhile)` : "") +
          ` · ${report.seconds.toFixed(1)} s · results: ${runDir}/results.sqlite`,
      );
      for (
        const t of report.trials.filter((t) => t.status === "failed" || t.status === "diverged")
      ) {
        console.error(`  ${t.status}: ${t.label}: ${t.reason}`);
      }
      if (report.status === "interrupted") {
        console.error(
          `interrupted: ${report.interrupted} trial(s) did not finish; rerun the sweep to finish ` +
            "them (cached work is reused)",
        );
        throw new ExitCode(130);
      }
      if (report.failed > 0) throw new ExitCode(1);
    });

  program.command("plan")
    .description(
      "print the expanded trials, which nodes are already cached and which evaluations are " +
        "references, without running",
    )
    .argument("<file>", "experiment YAML")
    .argument("[overrides...]", OVERRIDES_HELP)
    .option("--cache-dir <dir>", "artifact cache")
    .action(async (file: string, overrides: string[], o) => {
      const loaded = await loadExperiment(file, registry, { overrides });
      const { cacheDir } = dirsOf(loaded, o);
      await preflight(loaded, { cacheDir: join(cacheDir, "datasets") });
      const cache = await openCache(cacheDir);
      const seen = new Map<string, boolean>();
      console.log(
        `${loaded.experiment.name}: ${loaded.trials.length} trial(s), backend ${loaded.experiment.backend}`,
      );
      const ctx = await provenanceContext(loaded.experiment, loaded.trials, cacheDir);
      const plans = new Map(loaded.trials.map((t) => [t.id, planTrial(t, ctx)]));
      const metrics = metricsNodes(loaded.trials, plans);
      for (const trial of loaded.trials) {
        console.log(`trial ${trial.id} ${trial.label}`);
        const references = new Map(
          metrics.get(trial.id)!.map((n) => [n.node, n.reference] as const),
        );
        for (const plan of plans.get(trial.id)!.values()) {
          if (plan.node.kind !== "step") continue;
          const reference = references.get(plan.name);
          const shared = seen.has(plan.key);
          // Cached means sound: every file is read and checked (a corrupt copy is recomputed).
          let note = "";
          if (!shared) {
            const found = await cache.check(plan.key);
            seen.set(plan.key, found.status === "hit");
            if (found.status === "corrupt") note = ` (cached copy is corrupt: ${found.reason})`;
          }
          const state = seen.get(plan.key) ? "cached" : `to run${note}`;
          console.log(
            `  ${plan.name.padEnd(14)} ${plan.node.use.padEnd(16)} ${
              plan.key.slice(0, 12)
            } ${state}` +
              (shared ? " (shared)" : "") +
              (reference === undefined ? "" : ` · reference: ${reference}`),
          );
        }
      }
      const cached = [...seen.values()].filter(Boolean).length;
      console.log(`${seen.size} distinct job(s): ${cached} cached, ${seen.size - cached} to run`);
    });

  program.command("results")
    .description("print the comparison table (mean ± std over seeds) of a run")
    .argument("<run>", "run directory (holding results.sqlite) or experiment YAML")
    .option(...FORMAT_FLAG)
    .option("--run-id <n>", "which sweep invocation (default: the latest)")
    .action(async (run: string, o) => {
      let runDir = run;
      if (/\.ya?ml$/.test(run)) runDir = dirsOf(await loadExperiment(run, registry), {}).runDir;
      requireResults(runDir);
      const db = openResults(runDir);
      try {
        const id = o.runId ? Number(o.runId) : db.latestRun()?.id;
        if (id === undefined) throw new KtError(`${runDir} holds no runs yet`);
        const trials = db.trials(id);
        const format = printTable(comparisonTable(trials), o.format);
        // An incomplete run says so, and which trials its table lacks.
        const run = db.runs().find((r) => r.id === id);
        const note = run && runNote(run, await runState(run, runDir), trials);
        if (note && format === "markdown") console.log(`\n> ${note}`);
        else if (note) console.error(note);
      } finally {
        db.close();
      }
    });

  program.command("compare")
    .description(
      "one table across runs or experiments: per metric a column per run, each with its own " +
        "significance marks; two runs of one experiment also get the change of each method",
    )
    .argument("<runs...>", "run directories or experiment YAML files; <run>@<id> picks a run")
    .option(...FORMAT_FLAG)
    .option(
      "--metrics <names>",
      "comma-separated metrics, or all (default: mAP when every run has it)",
    )
    .option("--diff", "the change columns for two runs even of different experiments")
    .addHelpText(
      "after",
      `
Examples:
  deno task kt compare runs/mnist-pkt runs/fashion-mnist-pkt
  deno task kt compare runs/quickstart@1 runs/quickstart@2 --metrics mAP,P@10`,
    )
    .action(async (runs: string[], o) => {
      const sources = [];
      for (const arg of runs) {
        const at = /^(.*)@(\d+)$/.exec(arg);
        const path = at ? at[1] : arg;
        const runDir = /\.ya?ml$/.test(path)
          ? dirsOf(await loadExperiment(path, registry), {}).runDir
          : path;
        requireResults(runDir);
        const db = openResults(runDir);
        try {
          const all = db.runs();
          const run = at ? all.find((r) => r.id === Number(at[2])) : all[all.length - 1];
          if (!run) {
            throw new KtError(
              at ? `${runDir} has no run ${at[2]}` : `${runDir} holds no runs yet`,
              { hint: all.length > 0 ? `runs: ${all.map((r) => r.id).join(", ")}` : undefined },
            );
          }
          sources.push({
            experiment: run.experiment,
            runDir,
            runId: run.id,
            trials: db.trials(run.id),
          });
        } finally {
          db.close();
        }
      }
      const labels = sourceLabels(sources);
      const metrics = o.metrics === undefined || o.metrics === "all"
        ? undefined
        : String(o.metrics).split(",").map((m) => m.trim()).filter(Boolean);
      const table = compareRuns(
        sources.map((s, i) => ({ ...s, label: labels[i] })),
        { metrics: o.metrics === "all" ? allMetrics(sources) : metrics, diff: o.diff === true },
      );
      printTable(table, o.format);
      sources.forEach((s, i) =>
        console.error(`${labels[i]}: ${s.runDir} run ${s.runId} (${s.trials.length} trials)`)
      );
    });

  program.command("report")
    .description("write a self-contained HTML report (table, charts, configs) of a run")
    .argument("<run>", "run directory (holding results.sqlite) or experiment YAML")
    .argument("[overrides...]", "for --gallery: the overrides the sweep ran with")
    .option("--out <file>", "output file (default: <run-dir>/report.html)")
    .option("--run-id <n>", "which sweep invocation (default: the latest)")
    .option(
      "--gallery",
      "add each method's top-10 retrieved images for a few test queries (reads the trained " +
        "students from the cache; image data only)",
    )
    .option("--cache-dir <dir>", "artifact cache, for --gallery (default: the file's or .kt/cache)")
    .action(async (run: string, overrides: string[], o) => {
      const runDir = /\.ya?ml$/.test(run)
        ? dirsOf(await loadExperiment(run, registry, { overrides }), {}).runDir
        : run;
      const runId = o.runId === undefined ? undefined : Number(o.runId);
      let gallery;
      if (o.gallery) {
        const loaded = await loadExperiment(experimentOf(run), registry, { overrides });
        const { cacheDir } = dirsOf(loaded, { cacheDir: o.cacheDir });
        await useBackend(loaded.experiment.backend);
        gallery = await buildGallery(loaded, {
          cacheDir,
          methods: galleryMethods(loadReportInput(runDir, runId)),
          log: (line) => console.error(line),
        });
        if (!gallery) console.error("no gallery: the retrieval data are not images");
      }
      console.log(await writeReport(runDir, { out: o.out, runId, gallery }));
    });

  program.command("export")
    .description(
      "write a trained model (a node of one trial) as a tfjs layers model: model.json + weights.bin",
    )
    .argument("<run>", "experiment YAML, or a run directory (the experiment file it recorded)")
    .argument("[overrides...]", OVERRIDES_HELP)
    .requiredOption("--node <name>", "the node whose model to export, e.g. student")
    .option(
      "--trial <which>",
      'the trial: its label ("method=pkt seed=0"), some of its parameters (method=pkt,seed=0) ' +
        "or its id (needed when the sweep has several)",
    )
    .option("--out <dir>", "output directory (default: <run-dir>/export/<node>-<trial id>)")
    .option("--cache-dir <dir>", "artifact cache (default: the file's cacheDir or .kt/cache)")
    .addHelpText(
      "after",
      `
Example:
  deno task kt export experiments/quickstart.yaml --node student --trial "method=pkt seed=0"`,
    )
    .action(async (run: string, overrides: string[], o) => {
      const loaded = await loadExperiment(experimentOf(run), registry, { overrides });
      const { cacheDir, runDir } = dirsOf(loaded, { cacheDir: o.cacheDir });
      const out = await exportModel(loaded, {
        node: o.node,
        trial: o.trial,
        cacheDir,
        runDir: /\.ya?ml$/.test(run) ? runDir : run,
        out: o.out,
      });
      const shape = out.inputShape ? `, input ${out.inputShape.join("×")}` : "";
      console.log(
        `exported ${out.node} of trial "${out.trial.label}" to ${out.dir}: model.json + ` +
          `weights.bin (tfjs layers), kt.json (where it came from)\n` +
          `  layers: ${out.layers.join(", ")}${shape}\n` +
          `  representation (transferred) layer: ${out.representation ?? "?"}\n` +
          `load it back:\n` +
          `  as a teacher:  teacher: { use: saved, path: ${out.dir} }\n` +
          `  in kt:         const { net } = await loadModel("${out.dir}"); // from mod.ts\n` +
          `  in tfjs:       await tf.loadLayersModel("file://${out.dir}/model.json")`,
      );
    });

  program.command("doctor")
    .description("which backends work here, why not, and the exact fix (GPU drivers, CUDA, WebGPU)")
    .option("--json", "print the report as one JSON object")
    .action(async (o) => {
      const { diagnose, formatDoctor } = await import("./doctor.ts");
      const report = await diagnose();
      console.log(o.json ? JSON.stringify(report) : formatDoctor(report));
    });

  program.command("plugins")
    .description("list every plugin (built-in and listed in an experiment) with its options")
    .option("--kind <kind>", "only this kind")
    .option("--file <yaml>", "also load the plugin files this experiment lists")
    .action(async (o) => {
      const reg = o.file ? (await loadExperiment(o.file, registry)).experiment.registry : registry;
      console.log(describePlugins(reg.list(), o.kind));
    });

  const cacheCmd = program.command("cache").description("inspect and clean the artifact cache");
  cacheCmd.command("ls")
    .option("--cache-dir <dir>", "artifact cache", DEFAULT_CACHE)
    .action(async (o) => {
      const cache = await openCache(abs(o.cacheDir));
      const entries = await cache.list();
      for (const e of entries) {
        console.log(
          `${e.key.slice(0, 16)}  ${e.plugin.padEnd(24)} ${
            (e.bytes / 1e6).toFixed(2).padStart(9)
          } MB  ${e.created.toISOString()}`,
        );
      }
      console.log(
        `${entries.length} artifact(s), ${
          (entries.reduce((n, e) => n + e.bytes, 0) / 1e6).toFixed(1)
        } MB`,
      );
    });
  cacheCmd.command("verify")
    .option("--cache-dir <dir>", "artifact cache", DEFAULT_CACHE)
    .option("--remove", "delete corrupt and stale artifacts")
    .action(async (o) => {
      const cacheDir = abs(o.cacheDir);
      // Every input file is read again (the stat memo is not trusted here) and the memo updated.
      const memo = await openHashMemo(cacheDir, { trust: false });
      const cache = await openCache(cacheDir);
      const inputsOf = new Map<string, string[]>();
      const report = await cache.verify({
        remove: !!o.remove,
        stale: (m) => {
          if (!isProvenance(m.provenance)) return Promise.resolve(undefined);
          inputsOf.set(m.key, m.provenance.inputs ?? []);
          return staleReason(m.provenance, memo);
        },
      });
      await memo.save();
      // Built on a stale artifact: stale too.
      const staleKeys = report.stale.map((s) => s.key);
      for (const { key, input } of staleDependents(report.ok, inputsOf, staleKeys)) {
        report.ok.splice(report.ok.indexOf(key), 1);
        report.stale.push({ key, reason: `built on stale artifact ${input.slice(0, 12)}` });
        if (o.remove) await cache.remove(key);
      }
      for (const c of report.corrupt) console.log(`corrupt ${c.key}: ${c.reason}`);
      for (const c of report.stale) console.log(`stale ${c.key}: ${c.reason}`);
      console.log(
        `${report.ok.length} ok, ${report.corrupt.length} corrupt, ${report.stale.length} stale, ` +
          `${report.incomplete.length} incomplete`,
      );
      if (report.corrupt.length + report.stale.length > 0 && !o.remove) throw new ExitCode(1);
    });
  cacheCmd.command("gc")
    .option("--cache-dir <dir>", "artifact cache", DEFAULT_CACHE)
    .option(
      "--older-than <days>",
      "also remove artifacts unused for this many days",
      numberFlag("--older-than", { min: 0, example: "30" }),
    )
    .action(async (o) => {
      const cache = await openCache(abs(o.cacheDir));
      const report = await cache.gc(
        o.olderThan !== undefined ? { olderThan: o.olderThan * 86_400_000 } : {},
      );
      console.log(
        `removed ${report.removed.length} artifact(s) and ${report.leftoversRemoved} leftover(s), freed ${
          (report.bytesFreed / 1e6).toFixed(1)
        } MB`,
      );
    });

  program.command("worker", { hidden: true })
    .description(
      "internal: compute one job read as JSON from stdin (started by the local executor)",
    )
    .action(async () => {
      // Ctrl-C on the terminal reaches the whole process group: the sweep decides (it asks, or
      // stops its workers with SIGTERM), so a worker ignores it.
      Deno.addSignalListener("SIGINT", () => {});
      const job = JSON.parse(await new Response(Deno.stdin.readable).text()) as JobSpec;
      const emit = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));
      // The job carries its node and inputs: the experiment file is neither read nor expanded.
      const result = await runJob(
        job,
        registry,
        {
          curve: (p) => emit(eventLine({ type: "curve", ...p })),
          log: (line) => emit(eventLine({ type: "log", line })),
        },
        {},
        { importPlugins: true },
      );
      emit(eventLine(
        result.ok ? { type: "done" } : {
          type: "error",
          reason: result.reason,
          ...(result.ending ? { ending: result.ending } : {}),
        },
      ));
      if (!result.ok) throw new ExitCode(1);
    });
  return program;
}

/**
 * The command that starts a worker for `job`, with the narrowest permissions that work: read
 * anywhere, write only to the job's cache and run directories, network only to the hosts of
 * dataset URLs, no subprocesses, never a prompt. Flags are built from checked parts
 * ({@linkcode allowFlag}), so no directory or host can widen them.
 */
export function workerCommand(
  env: CliEnv,
  job: JobSpec,
): { command: string; args: string[]; stdin: string } {
  const entry = env.entry.startsWith("file:") ? new URL(env.entry).pathname : env.entry;
  const config = resolve(entry, "..", "deno.json");
  const net = allowFlag("--allow-net", job.netHosts);
  const args = [
    "run",
    "--no-prompt",
    `--config=${config}`,
    "--allow-read",
    allowFlag("--allow-write", [job.cacheDir, job.runDir])!,
    "--allow-env",
    "--allow-sys",
    ...(net === undefined ? [] : [net]),
    entry,
    "worker",
  ];
  return { command: denoCommand(), args, stdin: JSON.stringify(job) };
}

/**
 * `kt train`'s model options against its data and memory, before anything is built: an error
 * names the flag to change (`--model-options`, `--batch-size`).
 */
function checkTrainFlags(
  plugin: ModelPlugin<unknown>,
  options: unknown,
  data: { shape: [number, number, number]; numClasses: number; size: number },
  batchSize: number,
  backend: string,
): void {
  const memory = backend === "wasm" ? Math.min(memoryBytes(), WASM_MEMORY_BYTES) : memoryBytes();
  try {
    const estimate = plugin.estimate?.(options, {
      inputShape: data.shape,
      numClasses: data.numClasses,
      seed: 0,
    });
    if (estimate) checkTrainingMemory(estimate, Math.min(batchSize, data.size), memory);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    const flag = e.option === "batchSize" ? "--batch-size" : "--model-options";
    const option = e.option.replace(/^model\./, "");
    throw new KtError(flag === "--batch-size" ? e.message : `${option}: ${e.message}`, {
      where: flag,
      hint: e.hint,
    });
  }
}

/** Thrown by commands to exit with a status without printing an error. */
class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs the CLI; returns the exit code. User errors print one line (no stack trace). */
export async function runCli(args: string[], plugins: Plugin[], env: CliEnv): Promise<number> {
  const program = buildProgram(plugins, env);
  // Before parsing, so that errors of the parsing itself show their stack too.
  const debug = args.includes("--debug");
  if (debug) Deno.env.set("KT_DEBUG", "1"); // worker processes inherit it
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ExitCode) return err.code;
    console.error(`error: ${describeError(err, debug)}`);
    return 1;
  }
}

/** " (read in 0.12 s; computing them took 35.6 s)" for a report with cache hits, else "". */
function cacheSaving(
  report: { cached: number; cacheReadSeconds: number; cachedComputeSeconds: number },
): string {
  if (report.cached === 0) return "";
  const read = `read in ${report.cacheReadSeconds.toFixed(2)} s`;
  return report.cachedComputeSeconds > 0
    ? ` (${read}; computing them took ${report.cachedComputeSeconds.toFixed(1)} s)`
    : ` (${read})`;
}
