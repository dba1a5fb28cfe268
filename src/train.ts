/**
 * The training loop: mini-batches from typed arrays, Adam or SGD (momentum, weight decay), a step
 * learning-rate schedule, any {@linkcode LossTerm}, teacher targets aligned with the data,
 * divergence detection (NaN/Inf, or a loss grown by orders of magnitude), and per-epoch history.
 * Deterministic for a given seed on a given backend.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CurvePoint, FeatureTable, KtModel, LossInputs, LossState, LossTerm } from "./api.ts";
import type { Dataset } from "./data.ts";
import { gatherBatch, sampleSize } from "./data.ts";
import { createRng, permutation } from "./rng.ts";
import { KtError } from "./errors.ts";
import { multiOutput, resolveLayerName } from "./model.ts";
import { createProgress } from "./progress.ts";
import { KtAdamOptimizer } from "./backend/adam.ts";
import { lossReadInterval, readScalars } from "./backend/reads.ts";
import { restoreLossState } from "./loss_state.ts";
import { crossEntropy } from "./losses/cross_entropy.ts";

/** Optimiser settings. */
export interface OptimizerOptions {
  /** The optimiser. */
  type: "adam" | "sgd";
  /** Learning rate (before the schedule). */
  lr: number;
  /** SGD momentum (0 = plain SGD). */
  momentum?: number;
  /** SGD Nesterov momentum. */
  nesterov?: boolean;
  /** Adam β1 (default 0.9). */
  beta1?: number;
  /** Adam β2 (default 0.999). */
  beta2?: number;
  /** Adam ε (default {@linkcode ADAM_EPSILON}, PyTorch's; tfjs's own default is 1e-7). */
  epsilon?: number;
  /** L2 weight decay added to the loss as wd/2·Σw² over trainable kernels (coupled, as torch SGD). */
  weightDecay?: number;
}

/** Multiply the learning rate by `gamma` every `stepSize` epochs (or at the listed epochs). */
export interface StepSchedule {
  /** Factor applied at each step. */
  gamma: number;
  /** Epochs between steps. */
  stepSize?: number;
  /** The epochs at which to step, instead of `stepSize`. */
  milestones?: number[];
}

/** Teacher outputs aligned row-by-row with the training data. */
export interface Targets {
  /** Teacher features, one row per training sample. */
  features?: FeatureTable;
  /** Teacher logits, one row per training sample. */
  logits?: FeatureTable;
  /** Extra teacher layers by name (multi-layer methods). */
  layers?: Record<string, FeatureTable>;
}

/** Options of {@linkcode trainModel}. */
export interface TrainOptions {
  /** Passes over the data. */
  epochs: number;
  /** Samples per step. */
  batchSize: number;
  /** The optimiser and its settings. */
  optimizer: OptimizerOptions;
  /** Learning-rate schedule (default: constant). */
  schedule?: StepSchedule;
  /** Seed of batch order and augmentation. */
  seed: number;
  /** The objective; default sparse softmax cross-entropy. */
  loss?: LossTerm;
  /** What the loss term compares the student with (teacher outputs, row-aligned with the data). */
  targets?: Targets;
  /** Only train the layers up to (and including) this one, plus the loss term's variables. */
  trainUpTo?: string;
  /**
   * State for the loss term saved by an earlier training (its embeddings, regressors, memory
   * banks), put back after the term's `init` and before the first step.
   */
  lossState?: LossState;
  /** Progress label; `false` disables progress output. */
  progress?: string | false;
  /** Called after each epoch. */
  onEpoch?: (record: EpochRecord) => void;
  /**
   * Divergence check: training stops with a {@linkcode DivergenceError} when a step's loss
   * exceeds `factor` × the lowest loss so far (the first step's, then each finished epoch's
   * mean). `false` turns it off; a NaN or infinite loss always stops training. Default:
   * `{ factor: DIVERGENCE_FACTOR }`.
   */
  divergence?: { factor: number } | false;
}

/** The default divergence factor: a loss 10,000× its lowest so far means training diverged. */
export const DIVERGENCE_FACTOR = 1e4;

/**
 * Training diverged: its loss became NaN/Inf or grew by orders of magnitude. A sweep marks the
 * trial `diverged` rather than failed.
 */
export class DivergenceError extends KtError {
  constructor(message: string, options: { hint?: string; where?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = "DivergenceError";
  }
}

/** Whether `err` is, or was caused by, a {@linkcode DivergenceError}. */
export function isDivergence(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof DivergenceError) return true;
  }
  return false;
}

/** What one epoch did: its curve point (no phase), wall time and learning rate. */
export interface EpochRecord extends CurvePoint {
  /** Wall time of the epoch. */
  seconds: number;
  /** The learning rate the epoch trained with. */
  lr: number;
}

/** Sparse softmax cross-entropy, mean over the batch ({@linkcode crossEntropy}). */
export const crossEntropyTerm: LossTerm = {
  compute: ({ studentLogits, labels }) => crossEntropy(studentLogits, labels),
};

/** Learning rate for `epoch` under `schedule`. */
export function scheduledLr(base: number, epoch: number, schedule?: StepSchedule): number {
  if (!schedule) return base;
  const steps = schedule.milestones
    ? schedule.milestones.filter((m) => epoch >= m).length
    : schedule.stepSize
    ? Math.floor(epoch / schedule.stepSize)
    : 0;
  return base * schedule.gamma ** steps;
}

/**
 * Adam's default ε: PyTorch's 1e-8, not tfjs's 1e-7. PKT's gradients are ~1e-7 RMS (a mean over
 * B² probabilities), the size of tfjs's ε, which then damps PKT's steps (DESIGN.md §3).
 */
export const ADAM_EPSILON = 1e-8;

function createOptimizer(o: OptimizerOptions): { opt: tf.Optimizer; setLr(lr: number): void } {
  if (o.type === "adam") {
    const opt = new KtAdamOptimizer(
      o.lr,
      o.beta1 ?? 0.9,
      o.beta2 ?? 0.999,
      o.epsilon ?? ADAM_EPSILON,
    );
    // Adam reads its learning rate on every step.
    return { opt, setLr: (lr) => ((opt as unknown as { learningRate: number }).learningRate = lr) };
  }
  const opt = o.momentum
    ? tf.train.momentum(o.lr, o.momentum, o.nesterov ?? false)
    : tf.train.sgd(o.lr);
  return { opt, setLr: (lr) => opt.setLearningRate(lr) };
}

function batchOf(table: FeatureTable, idx: Int32Array, start: number, end: number): tf.Tensor2D {
  const out = new Float32Array((end - start) * table.dim);
  for (let b = start; b < end; b++) {
    const j = idx[b];
    out.set(table.values.subarray(j * table.dim, (j + 1) * table.dim), (b - start) * table.dim);
  }
  return tf.tensor2d(out, [end - start, table.dim]);
}

/**
 * Trains `model` on `data` and returns the per-epoch history. Throws a
 * {@linkcode DivergenceError} (with the epoch and step) when the loss becomes NaN/Inf or grows
 * beyond `divergence.factor` × its lowest, so a sweep can mark the trial diverged.
 * Step losses are read each step where the backend reads synchronously (cpu, wasm, tensorflow)
 * and every {@linkcode lossReadInterval} steps, in one awaited read, on webgpu: its divergence
 * checks and progress then lag up to that many steps; the losses and weights are the same.
 */
export async function trainModel(
  model: KtModel,
  data: Dataset,
  opts: TrainOptions,
): Promise<EpochRecord[]> {
  const term = opts.loss ?? crossEntropyTerm;
  const needs = term.needs ?? {};
  for (
    const [what, table] of [["features", opts.targets?.features], [
      "logits",
      opts.targets?.logits,
    ]] as const
  ) {
    if (table && table.size !== data.size) {
      throw new KtError(
        `teacher ${what} have ${table.size} rows but the training data has ${data.size} samples`,
        { hint: "extract the teacher features from the same dataset node the student trains on" },
      );
    }
  }
  if (needs.teacher && !opts.targets?.features) {
    throw new KtError("this loss needs teacher features but the training node has no targets", {
      hint: "add `targets: <features node>` to the training node",
    });
  }
  if (needs.teacherLogits && !opts.targets?.logits) {
    throw new KtError("this loss needs teacher logits but the targets provide none", {
      hint: "use a features node with `logits: true` (or layer: logits) as targets",
    });
  }
  const extraLayers = needs.studentLayers ?? [];
  const outputsModel = multiOutput(model, ["representation", "logits", ...extraLayers]);
  const { opt, setLr } = createOptimizer(opts.optimizer);
  /** Loss inputs for samples `order[start..end)` given the student model's outputs on them. */
  const batchInputs = (
    outs: tf.Tensor[],
    labels: tf.Tensor1D,
    order: Int32Array,
    start: number,
    end: number,
    epoch: number,
  ): LossInputs => {
    const n = end - start;
    const studentLayers: Record<string, tf.Tensor> = {};
    extraLayers.forEach((name, i) => (studentLayers[name] = outs[2 + i]));
    const t = opts.targets;
    return {
      student: tf.reshape(outs[0], [n, -1]) as tf.Tensor2D,
      studentLogits: outs[1] as tf.Tensor2D,
      teacher: t?.features ? batchOf(t.features, order, start, end) : undefined,
      teacherLogits: t?.logits ? batchOf(t.logits, order, start, end) : undefined,
      studentLayers,
      teacherLayers: Object.fromEntries(
        Object.entries(t?.layers ?? {}).map(([k, table]) => [k, batchOf(table, order, start, end)]),
      ),
      labels,
      numClasses: data.numClasses,
      epoch,
      indices: order.slice(start, end),
      datasetLabels: data.y,
    };
  };
  // Terms with shape-dependent variables (learned projections) create them from a first batch.
  if (term.init) {
    const n = Math.min(opts.batchSize, data.size);
    const first = Int32Array.from({ length: n }, (_, i) => i);
    tf.tidy(() => {
      const x = tf.tensor4d(data.x.subarray(0, n * sampleSize(data)), [n, ...data.shape]);
      const outs = outputsModel.apply(x, { training: false }) as tf.Tensor[];
      term.init!(batchInputs(outs, tf.tensor1d(data.y.subarray(0, n), "int32"), first, 0, n, 0));
    });
  }
  if (opts.lossState) restoreLossState(term, opts.lossState);
  let layers = model.net.layers;
  if (opts.trainUpTo) {
    const last = layers.findIndex((l) => l.name === resolveLayerName(model, opts.trainUpTo!));
    layers = layers.slice(0, last + 1);
  }
  const varList = [
    ...layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable)),
    ...(term.variables ?? []),
  ];
  const decayed = opts.optimizer.weightDecay
    ? model.net.trainableWeights.filter((w) => w.shape.length > 1).map((w) => w.read())
    : [];
  const rng = createRng(opts.seed);
  const d = sampleSize(data);
  const bs = Math.min(opts.batchSize, data.size);
  const xBuf = new Float32Array(bs * d);
  const yBuf = new Int32Array(bs);
  const history: EpochRecord[] = [];
  const factor = opts.divergence === false
    ? Infinity
    : opts.divergence?.factor ?? DIVERGENCE_FACTOR;
  /** The lowest loss so far: the first step's, then each finished epoch's mean. */
  let lowest = NaN;
  const diverged = (why: string, epoch: number, step: number, lr: number) =>
    new DivergenceError(`training diverged: ${why} at epoch ${epoch + 1}, step ${step}`, {
      hint: `lower the learning rate (lr ${lr}) or the loss weight, or check the input ` +
        "normalisation" + (factor < Infinity
          ? `; to allow it, raise divergence.factor (now ${factor}) or set divergence: false`
          : ""),
    });
  /** Step losses not read yet, with their batch sizes and ends (see {@linkcode lossReadInterval}). */
  const pending: { cost: tf.Scalar; n: number; end: number }[] = [];
  const readEvery = lossReadInterval();
  const progress = opts.progress === false ? undefined : createProgress({
    label: opts.progress ?? "train",
    epochs: opts.epochs,
    samplesPerEpoch: data.size,
  });
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const lr = scheduledLr(opts.optimizer.lr, epoch, opts.schedule);
      setLr(lr);
      const order = permutation(data.size, rng);
      const t0 = performance.now();
      let lossSum = 0;
      let steps = 0;
      for (let start = 0; start < data.size; start += bs) {
        const end = Math.min(start + bs, data.size);
        const n = end - start;
        gatherBatch(data, order, start, end, xBuf, yBuf, data.augment, rng);
        const cost = tf.tidy(() => {
          const x = tf.tensor4d(xBuf.subarray(0, n * d), [n, ...data.shape]);
          const labels = tf.tensor1d(yBuf.subarray(0, n), "int32");
          return opt.minimize(
            () => {
              const outs = outputsModel.apply(x, { training: true }) as tf.Tensor[];
              const inputs = batchInputs(outs, labels, order, start, end, epoch);
              let loss = term.compute(inputs);
              if (decayed.length > 0) {
                const l2 = tf.addN(decayed.map((w) => tf.sum(tf.square(w))));
                loss = tf.add(loss, tf.mul(l2, opts.optimizer.weightDecay! / 2));
              }
              return loss;
            },
            true,
            varList,
          )!;
        });
        pending.push({ cost, n, end });
        if (pending.length >= readEvery || end === data.size) {
          const read = pending.splice(0);
          const values = await readScalars(read.map((p) => p.cost)).finally(() =>
            tf.dispose(read.map((p) => p.cost))
          );
          read.forEach(({ n, end }, k) => {
            const value = values[k];
            if (!Number.isFinite(value)) {
              throw diverged(`the loss became ${value}`, epoch, steps + 1, lr);
            }
            if (Number.isNaN(lowest)) lowest = value;
            else if (lowest > 0 && value > factor * lowest) {
              throw diverged(
                `the loss grew to ${value.toPrecision(3)}, more than ${factor} × its lowest ` +
                  `(${lowest.toPrecision(3)})`,
                epoch,
                steps + 1,
                lr,
              );
            }
            lossSum += value * n;
            steps++;
            progress?.step(epoch, end, lossSum / end);
          });
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const record = {
        epoch,
        loss: lossSum / data.size,
        samplesPerSecond: data.size / seconds,
        seconds,
        lr,
      };
      history.push(record);
      lowest = Math.min(lowest, record.loss);
      progress?.epochEnd(epoch, record.loss, record.samplesPerSecond);
      opts.onEpoch?.(record);
    }
  } finally {
    tf.dispose(pending.map((p) => p.cost));
    progress?.close();
    opt.dispose();
  }
  return history;
}
