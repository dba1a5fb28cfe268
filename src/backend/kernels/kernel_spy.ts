/**
 * Test support: counts how often registered wasm kernels run, to check that a fused or generated
 * kernel is really the one that ran.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Runs `body` with each wasm kernel in `names` wrapped to count its calls, restores the kernels
 * (also when `body` throws) and returns the counts by name.
 */
export function countKernelCalls(names: string[], body: () => void): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const originals = names.map((name) => {
    const config = tf.getKernel(name, "wasm");
    if (!config) throw new Error(`no wasm kernel "${name}" to count`);
    return config;
  });
  for (const config of originals) {
    tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => (counts[config.kernelName]++, config.kernelFunc(args)),
    });
  }
  try {
    body();
  } finally {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, "wasm");
      tf.registerKernel(config);
    }
  }
  return counts;
}
