/**
 * `hinton`: knowledge distillation from the teacher's logits. `form: library` (default) is
 * α·CE + (1−α)·T²·KL (T = 4, α = 0.1); `form: official` is the PKT repository's unsupervised
 * −(1/B)ΣΣ softmax(z_t/T)·log_softmax(z_s/T) with T = 2.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  defineLoss,
  HINTON_FORMS,
  hintonLoss,
  scaled,
  teacherLogits,
  weightOption,
  z,
} from "../../mod.ts";

export default defineLoss({
  name: "hinton",
  description: "Hinton knowledge distillation on softened logits",
  version: "1",
  paper: "Hinton et al., NIPS 2014 workshop",
  reads: ["logits", "labels"],
  options: z.object({
    temperature: z.number().positive().optional().describe("default 4 (library), 2 (official)"),
    alpha: z.number().min(0).max(1).default(0.1).describe("cross-entropy weight (library form)"),
    form: z.enum(HINTON_FORMS).default("library"),
    ...weightOption,
  }).strict(),
  create: (o) => ({
    needs: { teacherLogits: true },
    compute: (inputs) =>
      tf.tidy(() =>
        scaled(
          hintonLoss(inputs.studentLogits, teacherLogits(inputs, "hinton"), {
            temperature: o.temperature,
            alpha: o.alpha,
            form: o.form,
            labels: o.form === "library" ? inputs.labels : undefined,
          }),
          o.weight,
        )
      ),
  }),
});
