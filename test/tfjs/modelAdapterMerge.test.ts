/**
 * ModelAdapter's argument and state checks: merge checks every target before touching a weight,
 * unmerge undoes exactly what merge added to exactly the model merge changed, and the parameters
 * an adapter is given are checked up front.
 */
import * as tf from '@tensorflow/tfjs';
import { createPlan } from '../../src/createPlan';
import { presetConfig } from '../../src/presets';
import { ModelAdapter, type AdaptableModel } from '../../src/tfjs/modelAdapter';
import { createViT, type ViT } from '../../src/vit/model';
import { sinParams } from '../conformance/suite';
import { SMALL_GRAY } from '../vit/tinyVit';

const vitConfig = (numHiddenLayers: number) => ({ ...SMALL_GRAY, numHiddenLayers });

/** A copy of every weight's values, to compare against later. */
function snapshot(model: AdaptableModel): Map<string, Float32Array> {
  return new Map(
    [...model.weights].map(([name, v]) => [name, (v.dataSync() as Float32Array).slice()]),
  );
}

/** Every weight of `model` holds exactly the values in `before`. */
function expectUnchanged(model: AdaptableModel, before: Map<string, Float32Array>): void {
  for (const [name, values] of before) {
    expect(Array.from(model.weights.get(name)!.dataSync())).toEqual(Array.from(values));
  }
}

/** An adapter on `vit` whose ΔW is far from zero (sinusoidal parameters, not the zero init). */
function busyAdapter(vit: ViT, preset: string, engine: 'native' | 'tfjs'): ModelAdapter {
  const adapter = ModelAdapter.create(vit, presetConfig(preset), undefined, { engine });
  adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
  return adapter;
}

describe('merge checks every target before changing any weight', () => {
  test('an adapter for a 4-layer ViT does not touch a 2-layer one', () => {
    const deep = createViT(vitConfig(4), { seed: 1 });
    const shallow = createViT(vitConfig(2), { seed: 2 });
    const adapter = busyAdapter(deep, 'lora', 'native');
    const before = snapshot(shallow);
    expect(() => adapter.merge(shallow)).toThrow(
      /merge: target vit\.encoder\.layer\.2\.attention\.attention\.query\.weight \[16,16\] does not exist/,
    );
    expectUnchanged(shallow, before);
    expect(adapter.isMerged).toBe(false);
    expect(() => adapter.unmerge(shallow)).toThrow('not merged');
    // The adapter is still usable on the model it was made for.
    adapter.merge(deep);
    expect(adapter.isMerged).toBe(true);
    adapter.unmerge(deep);
    adapter.dispose();
    deep.dispose();
    shallow.dispose();
  });

  test('a wrong shape on the last target is found before the first target changes', () => {
    const vit = createViT(vitConfig(2), { seed: 3 });
    const adapter = busyAdapter(vit, 'lora', 'native');
    const last = adapter.plan.targets[adapter.plan.targets.length - 1]!.name;
    const odd = tf.variable(tf.zeros([16, 15]));
    const model: AdaptableModel = {
      weights: new Map([...vit.weights].map(([name, v]) => [name, name === last ? odd : v])),
      linearTargets: () => vit.linearTargets(),
    };
    const before = snapshot(model);
    expect(() => adapter.merge(model)).toThrow(`(the model's is [16,15])`);
    expectUnchanged(model, before);
    expect(adapter.isMerged).toBe(false);
    odd.dispose();
    adapter.dispose();
    vit.dispose();
  });

  test('unmerge refuses a model other than the one merged, and changes neither', () => {
    const a = createViT(vitConfig(2), { seed: 4 });
    const b = createViT(vitConfig(2), { seed: 4 });
    const adapter = busyAdapter(a, 'lora', 'native');
    const original = snapshot(a);
    adapter.merge(a);
    const mergedA = snapshot(a);
    expect(() => adapter.unmerge(b)).toThrow(TypeError);
    expect(() => adapter.unmerge(b)).toThrow(
      'Expected model to be the model this adapter was merged into',
    );
    expectUnchanged(b, original);
    expectUnchanged(a, mergedA);
    expect(adapter.isMerged).toBe(true);
    adapter.unmerge(a);
    expect(adapter.isMerged).toBe(false);
    adapter.dispose();
    a.dispose();
    b.dispose();
  });
});

describe('unmerge subtracts exactly what merge added', () => {
  const cases: [string, 'native' | 'tfjs'][] = [
    ['lora', 'native'],
    ['lora', 'tfjs'],
    ['lotr', 'native'],
    ['lotr', 'tfjs'],
  ];
  test.each(cases)(
    '%s on the %s engine, params changed between merge and unmerge',
    async (preset, engine) => {
      const vit = createViT(vitConfig(2), { seed: 5 });
      const adapter = busyAdapter(vit, preset, engine);
      const original = snapshot(vit);
      const mergedParams = sinParams(adapter.numParams);
      // ΔW computed independently, by the plan, from the parameters at merge time.
      const delta = adapter.plan.splitByTarget(await adapter.plan.delta(mergedParams, { engine }));
      adapter.merge(vit);
      for (const [name, view] of delta) {
        const w = original.get(name)!;
        const merged = vit.weights.get(name)!.dataSync();
        for (let i = 0; i < w.length; i++) {
          // One float32 rounding of W + ΔW (and the engines' own agreement, well inside this).
          expect(Math.abs(merged[i]! - (w[i]! + view[i]!))).toBeLessThanOrEqual(
            1e-6 * (Math.abs(w[i]!) + Math.abs(view[i]!)) + 1e-12,
          );
        }
      }
      // Training goes on while merged: unmerge must not subtract the new ΔW.
      adapter.params.assign(tf.tensor1d(mergedParams.map((p) => 1.5 * p + 0.1)));
      adapter.unmerge(vit);
      let worst = 0;
      for (const [name, w] of original) {
        const restored = vit.weights.get(name)!.dataSync();
        const view = delta.get(name);
        for (let i = 0; i < w.length; i++) {
          const scale = Math.abs(w[i]!) + Math.abs(view ? view[i]! : 0);
          if (scale > 0) worst = Math.max(worst, Math.abs(restored[i]! - w[i]!) / scale);
          else expect(restored[i]).toBe(w[i]);
        }
      }
      // (W + ΔW) − ΔW in float32 is two roundings, each at most 2^-24 of |W| + |ΔW|; measured
      // 5.7e-8 to 9.3e-8 here, against 31 to 48 when unmerge recomputed ΔW from the new params.
      expect(worst).toBeLessThanOrEqual(2 ** -23);
      // The new parameters are untouched by unmerge.
      expect(adapter.params.dataSync()[0]).toBeCloseTo(1.5 * mergedParams[0]! + 0.1, 6);
      adapter.dispose();
      vit.dispose();
    },
  );
});

describe('the parameters an adapter is given are checked up front', () => {
  const vit = createViT(vitConfig(2), { seed: 6 });
  const plan = () => createPlan(presetConfig('lora'), vit.linearTargets().slice(0, 2));
  afterAll(() => vit.dispose());

  test.each([
    ['5 too many', 5],
    ['one too few', -1],
  ])('%s: a RangeError naming params, the length and numParams', (_, extra) => {
    const p = plan();
    const n = p.numParams;
    const tensors = tf.memory().numTensors;
    const attach = () => ModelAdapter.attach(vit, p, new Float32Array(n + extra));
    expect(attach).toThrow(RangeError);
    expect(() => ModelAdapter.attach(vit, plan(), new Float32Array(n + extra))).toThrow(
      `adapter: Expected plan.numParams = ${n} values for params but received ${n + extra}`,
    );
    expect(() => new ModelAdapter(plan(), new Float32Array(n + extra))).toThrow(
      `Expected plan.numParams = ${n} values for params but received ${n + extra}`,
    );
    expect(tf.memory().numTensors).toBe(tensors);
  });

  test('another array type: a TypeError naming params and what was received', () => {
    const p = plan();
    const n = p.numParams;
    expect(() => ModelAdapter.attach(vit, p, new Float64Array(n) as never)).toThrow(TypeError);
    expect(() => ModelAdapter.attach(vit, plan(), new Float64Array(n) as never)).toThrow(
      `Expected a Float32Array of plan.numParams = ${n} values for params but received Float64Array`,
    );
    expect(() => new ModelAdapter(plan(), Array.from({ length: n }, () => 0) as never)).toThrow(
      'for params but received Array',
    );
  });

  test('the right length is accepted, with a variable of numParams values', () => {
    const p = plan();
    const values = sinParams(p.numParams);
    const adapter = ModelAdapter.attach(vit, p, values);
    expect(adapter.params.shape).toEqual([p.numParams]);
    expect(Array.from(adapter.params.dataSync())).toEqual(Array.from(values));
    adapter.dispose();
  });
});
