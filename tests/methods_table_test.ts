/**
 * experiments/methods_table.ts, the generator of docs/results.md's methods tables: every figure
 * comes from the trials (checked against means and stds worked out by hand), rows are labelled by
 * method, form and layers, and each seed's mAP lands in its own slot.
 */
import assert from "node:assert/strict";
import { methodLabel, methodsTable } from "../experiments/methods_table.ts";
import type { TrialRow } from "../src/results.ts";
import { doneTrial } from "./_trial_rows.ts";

/** A done trial of `method` at `seed`: mAP `mAP`, the teacher at 0.99, its plain student. */
function trial(method: unknown, seed: number, mAP: number, plain: number): TrialRow {
  return doneTrial(method, seed, { mAP, "P@10": 0.9, "P@100": 0.8, accuracy: 0.95, qmi: 0.02 }, [
    { node: "teacher_eval", label: "teacher", key: "t", metrics: { mAP: 0.99 } },
    {
      node: "plain_eval",
      label: "plain student (baseline)",
      key: `p${seed}`,
      metrics: { mAP: plain },
    },
  ]);
}

Deno.test("methodLabel: names, Hinton's form and the layers a method reads", () => {
  assert.equal(methodLabel("pkt"), "PKT");
  assert.equal(methodLabel("none"), "`none` (5 more CE epochs)");
  assert.equal(methodLabel({ use: "hinton", form: "official" }), "Hinton KD, official form");
  assert.equal(methodLabel({ use: "fitnets", studentLayer: "pool3" }), "FitNets (pool3)");
  assert.equal(
    methodLabel({ use: "at", studentLayers: ["pool1", "pool2", "pool3"] }),
    "AT (pool1-3)",
  );
  assert.equal(methodLabel({ use: "sp", studentLayers: ["conv2", "fc1"] }), "SP (conv2, fc1)");
  assert.equal(methodLabel("hint-random"), "hint-random");
});

Deno.test("methodsTable: mean ± sample std in %, the best marked, each seed's mAP", () => {
  // PKT 0.90 / 0.92 / 0.94 → mean 92.00, std 2.00; RKD 0.80 / 0.81 / 0.79 → 80.00 ± 1.00.
  // Plain student 0.70 / 0.72 / 0.71 → 71.00 ± 1.00. Paired differences PKT − RKD: 0.10, 0.11,
  // 0.15 → t = 0.12 / (0.0265 / √3) ≈ 7.9 with 2 df, p ≈ 0.016 < 0.05: PKT is marked best.
  const trials = [
    trial("pkt", 0, 0.90, 0.70),
    trial("pkt", 1, 0.92, 0.72),
    trial("pkt", 2, 0.94, 0.71),
    trial("rkd", 0, 0.80, 0.70),
    trial("rkd", 1, 0.81, 0.72),
    trial("rkd", 2, 0.79, 0.71),
  ];
  const lines = methodsTable(trials).split("\n");
  assert.equal(
    lines[0],
    "| method | mAP % | P@10 % | P@100 % | accuracy % | QMI ×100 | mAP % per seed (0 / 1 / 2) |",
  );
  const row = (name: string) => lines.find((l) => l.startsWith(`| ${name} |`))?.split(" | ");
  assert.deepEqual(row("reference: teacher")?.slice(1, 2), ["99.00"]);
  assert.equal(row("reference: plain student (baseline)")?.[1], "71.00 ± 1.00");
  assert.equal(row("reference: plain student (baseline)")?.[6], "70.00 / 72.00 / 71.00 |");
  assert.equal(row("PKT")?.[1], "**92.00 ± 2.00**");
  assert.equal(row("PKT")?.[6], "90.00 / 92.00 / 94.00 |");
  assert.equal(row("RKD")?.[1], "80.00 ± 1.00");
  assert.equal(row("RKD")?.[6], "80.00 / 81.00 / 79.00 |");
  // Identical columns: PKT and RKD tie, so both carry ≈ and neither is bold.
  assert.equal(row("PKT")?.[2], "90.00 ± 0.00 ≈");
});
