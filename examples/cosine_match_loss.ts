/**
 * A worked example of a user plugin: a loss that pulls each student representation towards the
 * direction of its teacher's (1 − cosine similarity, averaged over the batch). Teacher and student
 * widths must match — pair it with a teacher layer of the student's width, or see `pkt`, which
 * has no such restriction.
 *
 * List it in an experiment and use it by name (see examples/custom_loss.yaml):
 *
 * ```yaml
 * plugins: [./cosine_match_loss.ts]
 * nodes:
 *   student: { use: transfer, loss: { use: cosine-match, weight: 2 }, ... }
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { defineLoss, KtError, scaled, teacherFeatures, weightOption, z } from "../mod.ts";

export default defineLoss({
  name: "cosine-match",
  description: "1 − cosine similarity between each student and teacher representation",
  version: "1",
  // `weight`, as every built-in loss takes it (a `sum` term's weight is applied by the sum).
  options: z.object({ ...weightOption }).strict(),
  create: (opts) => ({
    needs: { teacher: true },
    compute: (inputs) => {
      const { student } = inputs;
      const teacher = teacherFeatures(inputs, "cosine-match"); // an actionable error when absent
      if (teacher.shape[1] !== student.shape[1]) {
        throw new KtError(
          `cosine-match: student width ${student.shape[1]} differs from teacher width ${
            teacher.shape[1]
          }`,
          { hint: "use a teacher layer as wide as the student's representation, or use pkt" },
        );
      }
      const unit = (x: tf.Tensor2D) => tf.div(x, tf.add(tf.norm(x, 2, 1, true), 1e-7));
      const cosine = tf.sum(tf.mul(unit(student), unit(teacher)), 1);
      return scaled(tf.sub(1, tf.mean(cosine)), opts.weight);
    },
  }),
});
