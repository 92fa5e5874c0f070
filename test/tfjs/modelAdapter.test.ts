import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { ModelAdapter, selectTargets } from '../../src/tfjs/modelAdapter';
import { createViT } from '../../src/vit/model';
import { sinParams } from '../conformance/suite';

const tinyConfig = {
  imageSize: 8,
  patchSize: 4,
  numChannels: 1,
  hiddenSize: 12,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 16,
  numLabels: 3,
};

function pixels(): tf.Tensor4D {
  return tf.tensor4d(
    Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i * 0.37)),
    [2, 1, 8, 8],
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

describe('SuperLoRA adapter on a ViT', () => {
  test('targets default to every attention query and value', () => {
    const vit = createViT(tinyConfig, { seed: 1 });
    const adapter = ModelAdapter.create(vit, { grouping: 1, rank: 2 }, undefined, {
      engine: 'tfjs',
    });
    expect(adapter.plan.targets.map((t) => t.name)).toEqual([
      'vit.encoder.layer.0.attention.attention.query.weight',
      'vit.encoder.layer.0.attention.attention.value.weight',
      'vit.encoder.layer.1.attention.attention.query.weight',
      'vit.encoder.layer.1.attention.attention.value.weight',
    ]);
    expect(adapter.plan.targets.map((t) => t.layer)).toEqual([0, 0, 1, 1]);
    expect(() => selectTargets(vit, ['nothing-matches'])).toThrow(/none matched/);
    expect(() => selectTargets(vit, ['(unclosed'])).toThrow(/regular expression/);
    adapter.dispose();
    vit.dispose();
  });

  test('the forward with the adapter equals the forward of W + ΔW; merge and unmerge', async () => {
    const vit = createViT(tinyConfig, { seed: 2 });
    const adapter = ModelAdapter.create(vit, { grouping: 1, order: 3, rank: 2 }, undefined, {
      engine: 'tfjs',
    });
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const original = new Map([...vit.weights].map(([name, v]) => [name, v.dataSync().slice()]));
    const withAdapter = adapter
      .withDelta((weightOverride) => vit.forward(pixels(), { weightOverride }))
      .dataSync();

    // Independently: ΔW from the plan, added by hand to a second copy of the model.
    const delta = await adapter.plan.delta(sinParams(adapter.numParams), { engine: 'tfjs' });
    const copy = createViT(tinyConfig, { seed: 2 });
    for (const [name, view] of adapter.plan.splitByTarget(delta)) {
      const weight = copy.weights.get(name)!;
      weight.assign(weight.add(tf.tensor(view, weight.shape)));
    }
    const expected = copy.forward(pixels()).dataSync();
    expect(maxAbsDiff(withAdapter, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(withAdapter, vit.forward(pixels()).dataSync())).toBeGreaterThan(1e-3);

    adapter.merge(vit);
    expect(maxAbsDiff(vit.forward(pixels()).dataSync(), expected)).toBeLessThan(1e-5);
    // While merged, the adapter's forward does not add ΔW twice.
    expect(
      maxAbsDiff(
        adapter.withDelta((o) => vit.forward(pixels(), { weightOverride: o })).dataSync(),
        expected,
      ),
    ).toBeLessThan(1e-5);
    expect(() => adapter.merge(vit)).toThrow(/already merged/);
    adapter.unmerge(vit);
    for (const [name, values] of original) {
      const restored = vit.weights.get(name)!.dataSync();
      // (W + Δ) − Δ is W up to one float32 rounding of the sum.
      for (let i = 0; i < values.length; i++) {
        expect(Math.abs(restored[i]! - values[i]!)).toBeLessThanOrEqual(
          2 ** -23 * (Math.abs(values[i]!) + 1),
        );
      }
    }
    // merge(vit, s) adds s · ΔW: the forward is W + s · ΔW's, and unmerge takes it back out.
    adapter.merge(vit, 0.25);
    const quarter = createViT(tinyConfig, { seed: 2 });
    for (const [name, view] of adapter.plan.splitByTarget(delta)) {
      const weight = quarter.weights.get(name)!;
      weight.assign(weight.add(tf.tensor(view, weight.shape).mul(0.25)));
    }
    expect(
      maxAbsDiff(vit.forward(pixels()).dataSync(), quarter.forward(pixels()).dataSync()),
    ).toBeLessThan(1e-5);
    adapter.unmerge(vit);
    for (const [name, values] of original) {
      expect(maxAbsDiff(vit.weights.get(name)!.dataSync(), values)).toBeLessThan(1e-6);
    }
    expect(() => adapter.merge(vit, Number.NaN)).toThrow('Expected a finite scale');
    adapter.dispose();
    vit.dispose();
    copy.dispose();
    quarter.dispose();
  });

  test('the native engine behind tf.customGrad gives the gradient tfjs autodiff gives', () => {
    const vit = createViT(tinyConfig, { seed: 4 });
    const config = {
      grouping: 2,
      order: 2,
      splits: 2,
      rank: [2, 'full'] as [number, 'full'],
      projection: { ratio: 0.5 },
      shuffle: true,
    };
    const weights = tf.randomNormal([2, 3], 0, 1, 'float32', 9);
    const gradientWith = (engine: 'tfjs' | 'native') => {
      const adapter = ModelAdapter.create(vit, config, undefined, { engine });
      expect(adapter.engine).toBe(engine);
      adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
      const { grads } = tf.variableGrads(
        () =>
          adapter
            .withDelta((weightOverride) => vit.forward(pixels(), { weightOverride }))
            .mul(weights)
            .sum() as tf.Scalar,
        [adapter.params],
      );
      const values = Object.values(grads)[0]!.dataSync().slice();
      adapter.dispose();
      return values;
    };
    const reference = gradientWith('tfjs');
    const native = gradientWith('native');
    const scale = Math.max(...Array.from(reference, Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(native, reference)).toBeLessThan(1e-4 * scale + 1e-6);
    vit.dispose();
  });

  test('save and load round trip; a file for another model is rejected', async () => {
    const vit = createViT(tinyConfig, { seed: 5 });
    const adapter = ModelAdapter.create(vit, { rank: 2 }, undefined, { engine: 'tfjs' });
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const path = join(mkdtempSync(join(tmpdir(), 'superlora-model-adapter-')), 'a.safetensors');
    await adapter.save(path);
    const loaded = await ModelAdapter.load(vit, path, { engine: 'tfjs' });
    expect(loaded.params.dataSync()).toEqual(adapter.params.dataSync());
    const wider = createViT({ ...tinyConfig, hiddenSize: 16 }, { seed: 5 });
    await expect(ModelAdapter.load(wider, path)).rejects.toThrow(
      /does not exist in the model with that shape/,
    );
    adapter.dispose();
    loaded.dispose();
    vit.dispose();
    wider.dispose();
  });
});
