/**
 * `sum`: a weighted sum of loss terms, e.g.
 * `{ use: sum, terms: [{ use: cross-entropy, weight: 0.1 }, { use: pkt, weight: 30000 }] }`.
 * Each term is an inline loss (`pluginSpec("loss", { weighted: true })`): its `weight` (default 1)
 * is `sum`'s, applied here, and the rest are checked against the term's own plugin with YAML
 * positions — so any loss, a user's included, can be a term without a `weight` option of its
 * own. The engine must hand `create` a `plugin` resolver in its context.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  createRng,
  defineLoss,
  KtError,
  type LossTerm,
  pluginSpec,
  restoreTerm,
  scaled,
  termState,
  weightOption,
  z,
} from "../../mod.ts";

/** The union of the children's needs. */
function mergeNeeds(children: LossTerm[]): NonNullable<LossTerm["needs"]> {
  const union = (key: "studentLayers" | "teacherLayers") => [
    ...new Set(children.flatMap((c) => c.needs?.[key] ?? [])),
  ];
  return {
    teacher: children.some((c) => c.needs?.teacher === true),
    teacherLogits: children.some((c) => c.needs?.teacherLogits === true),
    studentLayers: union("studentLayers"),
    teacherLayers: union("teacherLayers"),
  };
}

export default defineLoss({
  name: "sum",
  description: "weighted sum of loss terms: Σ weight · term (a term's weight defaults to 1)",
  version: "2",
  options: z.object({
    terms: z.array(pluginSpec("loss", { weighted: true })).min(1).describe(
      "loss terms, e.g. { use: pkt, weight: 2 } (sum applies the weight)",
    ),
    ...weightOption,
  }).strict(),
  create: (o, ctx) => {
    const resolve = ctx.plugin;
    if (!resolve) {
      throw new KtError('loss "sum" was created without a plugin resolver', {
        hint: "create losses with `{ seed, plugin: ctx.plugin }` so combinators can build terms",
      });
    }
    const rng = createRng(ctx.seed);
    const children: LossTerm[] = [];
    const weights = o.terms.map((spec) => spec.weight ?? 1);
    try {
      for (const spec of o.terms) {
        children.push(resolve(spec).create(spec.options, { ...ctx, seed: rng.seed() }));
      }
    } catch (err) {
      for (const c of children) c.dispose?.();
      throw err;
    }
    return {
      needs: mergeNeeds(children),
      get variables() {
        return children.flatMap((c) => c.variables ?? []);
      },
      init: (inputs) => children.forEach((c) => c.init?.(inputs)),
      // Each child's state, its names prefixed by the child's position: "0/variable0", ….
      state: () =>
        Object.fromEntries(
          children.flatMap((c, i) =>
            Object.entries(termState(c)).map(([name, t]) => [`${i}/${name}`, t])
          ),
        ),
      restore: (saved) =>
        children.forEach((c, i) => {
          const prefix = `${i}/`;
          const own = Object.entries(saved).filter(([name]) => name.startsWith(prefix));
          restoreTerm(c, Object.fromEntries(own.map(([n, t]) => [n.slice(prefix.length), t])));
        }),
      compute: (inputs) =>
        tf.tidy(() =>
          scaled(
            tf.addN(children.map((c, i) => scaled(c.compute(inputs), weights[i]))),
            o.weight,
          )
        ),
      dispose: () => children.forEach((c) => c.dispose?.()),
    };
  },
});
