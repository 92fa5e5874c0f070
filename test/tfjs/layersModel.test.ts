import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { AdaptableLayersModel } from '../../src/tfjs/layersModel';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { sinParams } from '../conformance/suite';

// A small CNN: Conv2D kernel [3, 3, 1, 4] (target [4, 9]), Dense kernels [64, 8] and [8, 3].
function convNet(seed: number): tf.Sequential {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [6, 6, 1],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        name: 'conv',
        kernelInitializer: init(0),
        biasInitializer: 'ones',
      }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 8, activation: 'tanh', name: 'hidden', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: init(2) }),
    ],
  });
}

function images(count: number): tf.Tensor4D {
  return tf.tensor4d(
    Float32Array.from({ length: count * 36 }, (_, i) => Math.cos(i * 0.41)),
    [count, 6, 6, 1],
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return worst;
}

/** W + ΔWᵀ for a kernel [...k, in, out] from its target's ΔW [out, k·in], by index arithmetic. */
function addTransposed(kernel: Float32Array, delta: Float32Array, out: number): Float32Array {
  const rows = kernel.length / out; // k·in
  const sum = kernel.slice();
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) sum[r * out + o]! += delta[o * rows + r]!;
  }
  return sum;
}

/**
 * A fresh model from `build` whose adapted weights hold W + ΔWᵀ, each ΔW from the plan's native
 * engine, and whose other weights are `model`'s; weights are matched by their tfjs names.
 */
async function mergedByHand<M extends tf.LayersModel>(
  model: M,
  adapter: ModelAdapter,
  build: () => M,
): Promise<M> {
  const deltas = adapter.plan.splitByTarget(
    await adapter.plan.delta(adapter.params.dataSync() as Float32Array, { engine: 'native' }),
  );
  const copy = build();
  copy.setWeights(
    model.weights.map((variable) => {
      const weight = variable.read();
      const delta = deltas.get(variable.originalName);
      if (!delta) return weight.clone();
      const out = weight.shape[weight.shape.length - 1]!;
      return tf.tensor(addTransposed(weight.dataSync() as Float32Array, delta, out), weight.shape);
    }),
  );
  return copy;
}

/**
 * dL/dparams through the adapter, and the same computed independently: the merged copy's
 * gradients with respect to its adapted weights, as [out, in], through the plan's backward.
 */
async function gradientBothWays<M extends tf.LayersModel>(
  model: M,
  adapter: ModelAdapter,
  build: () => M,
  x: tf.Tensor,
  outputWeights: tf.Tensor,
): Promise<{ actual: Float32Array; expected: Float32Array }> {
  const adaptable = new AdaptableLayersModel(model);
  const { grads } = tf.variableGrads(
    () =>
      adapter
        .withDelta((weightOverride) => adaptable.apply(x, { weightOverride }) as tf.Tensor)
        .mul(outputWeights)
        .sum() as tf.Scalar,
    [adapter.params],
  );
  const actual = Object.values(grads)[0]!.dataSync() as Float32Array;
  const reference = await mergedByHand(model, adapter, build);
  const byName = new Map(reference.weights.map((w) => [w.originalName, w.read() as tf.Variable]));
  const adapted = adapter.plan.targets.map((t) => byName.get(t.name)!);
  const { grads: byWeight } = tf.variableGrads(
    () => (reference.apply(x) as tf.Tensor).mul(outputWeights).sum() as tf.Scalar,
    adapted,
  );
  const dDelta = new Float32Array(adapter.plan.deltaSize);
  adapter.plan.targets.forEach((target, t) => {
    const g = byWeight[adapted[t]!.name]!.dataSync();
    const [out, rows] = target.shape;
    const offset = adapter.plan.layout.targetOffsets[t]!;
    for (let o = 0; o < out; o++) {
      for (let r = 0; r < rows; r++) dDelta[offset + o * rows + r] = g[r * out + o]!;
    }
  });
  const expected = await adapter.plan.deltaBackward(
    adapter.params.dataSync() as Float32Array,
    dDelta,
    { engine: 'native' },
  );
  tf.dispose([...Object.values(grads), ...Object.values(byWeight)]);
  reference.dispose();
  return { actual, expected };
}

/** Token ids → Embedding (7 × 5) → LSTM (3 units) → Dense (2). */
function textNet(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.embedding({
        inputDim: 7,
        outputDim: 5,
        inputLength: 6,
        name: 'emb',
        embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed }),
      }),
      tf.layers.lstm({
        units: 3,
        name: 'rnn',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
        recurrentInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
      tf.layers.dense({
        units: 2,
        name: 'out',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }),
      }),
    ],
  });
}

describe('SuperLoRA adapter on a tfjs LayersModel', () => {
  test('every Dense and convolution kernel is a target [out, kernelSize·in], in layer order', () => {
    const model = convNet(1);
    const adaptable = new AdaptableLayersModel(model);
    expect(adaptable.linearTargets()).toEqual([
      { name: 'conv/kernel', shape: [4, 9], layer: 0 },
      { name: 'hidden/kernel', shape: [8, 64], layer: 2 },
      { name: 'logits/kernel', shape: [3, 8], layer: 3 },
    ]);
    expect(adaptable.weights.get('hidden/kernel')!.shape).toEqual([64, 8]);
    // Nested models' kernels are named by their path.
    const outer = tf.sequential({
      layers: [model, tf.layers.dense({ units: 2, name: 'extra' })],
    });
    expect(new AdaptableLayersModel(outer).linearTargets().map((t) => t.name)).toEqual([
      `${model.name}/conv/kernel`,
      `${model.name}/hidden/kernel`,
      `${model.name}/logits/kernel`,
      'extra/kernel',
    ]);
    outer.dispose();
  });

  test('the forward with the adapter equals the forward of a model holding W + ΔWᵀ', async () => {
    const model = convNet(2);
    const adaptable = new AdaptableLayersModel(model);
    const adapter = ModelAdapter.create(adaptable, { grouping: 1, rank: 2 }, ['kernel$'], {
      engine: 'native',
    });
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const x = images(5);
    const adapted = adapter.withDelta(
      (weightOverride) => adaptable.apply(x, { weightOverride }) as tf.Tensor,
    );
    const reference = await mergedByHand(model, adapter, () => convNet(2));
    const expected = reference.predict(x) as tf.Tensor;
    const base = model.predict(x) as tf.Tensor;
    expect(maxAbsDiff(base.dataSync(), expected.dataSync())).toBeGreaterThan(0.05);
    expect(maxAbsDiff(adapted.dataSync(), expected.dataSync())).toBeLessThan(1e-5);
    // The kernels read as themselves again once the forward returns.
    expect(maxAbsDiff((model.predict(x) as tf.Tensor).dataSync(), base.dataSync())).toBe(0);
    tf.dispose([x, adapted, expected, base]);
    reference.dispose();
    adapter.dispose();
    model.dispose();
  });

  test('dL/dparams equals the plan backward of dL/dkernel transposed', async () => {
    const model = convNet(3);
    const adapter = ModelAdapter.create(
      new AdaptableLayersModel(model),
      { grouping: 2, order: 3, rank: 2, core: 'dense' },
      ['conv', 'hidden'],
      { engine: 'native' },
    );
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const x = images(4);
    const outputWeights = tf.tensor2d(
      Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      [4, 3],
    );
    const { actual, expected } = await gradientBothWays(
      model,
      adapter,
      () => convNet(3),
      x,
      outputWeights,
    );
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5 * scale);
    tf.dispose([x, outputWeights]);
    adapter.dispose();
    model.dispose();
  });

  test('Embedding and LSTM weights: targets, the forward and the gradient', async () => {
    const model = textNet(7);
    const adaptable = new AdaptableLayersModel(model);
    expect(adaptable.linearTargets()).toEqual([
      { name: 'emb/embeddings', shape: [5, 7], layer: 0 },
      { name: 'rnn/kernel', shape: [12, 5], layer: 1 },
      { name: 'rnn/recurrent_kernel', shape: [12, 3], layer: 1 },
      { name: 'out/kernel', shape: [2, 3], layer: 2 },
    ]);
    const adapter = ModelAdapter.create(adaptable, { grouping: 1, rank: 2 }, ['emb', 'rnn'], {
      engine: 'native',
    });
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const tokens = tf.tensor2d(
      Array.from({ length: 18 }, (_, i) => (i * 5) % 7),
      [3, 6],
    );
    // The LSTM reads its kernels at each of the 6 steps, each step in a tidy scope of its own.
    const adapted = adapter.withDelta(
      (weightOverride) => adaptable.apply(tokens, { weightOverride }) as tf.Tensor,
    );
    const reference = await mergedByHand(model, adapter, () => textNet(7));
    const expectedOutput = reference.predict(tokens) as tf.Tensor;
    const base = model.predict(tokens) as tf.Tensor;
    expect(maxAbsDiff(base.dataSync(), expectedOutput.dataSync())).toBeGreaterThan(0.01);
    expect(maxAbsDiff(adapted.dataSync(), expectedOutput.dataSync())).toBeLessThan(1e-5);

    const outputWeights = tf.tensor2d([1, -2, 0.5, 3, -1, 2], [3, 2]);
    const { actual, expected } = await gradientBothWays(
      model,
      adapter,
      () => textNet(7),
      tokens,
      outputWeights,
    );
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5 * scale);
    tf.dispose([tokens, adapted, expectedOutput, base, outputWeights]);
    reference.dispose();
    adapter.dispose();
    model.dispose();
  });

  test('layers inside Bidirectional and TimeDistributed are targets under their tfjs names', async () => {
    const build = () =>
      tf.sequential({
        layers: [
          tf.layers.embedding({
            inputDim: 7,
            outputDim: 4,
            inputLength: 5,
            name: 'emb',
            embeddingsInitializer: tf.initializers.randomUniform({
              minval: -1,
              maxval: 1,
              seed: 8,
            }),
          }),
          tf.layers.bidirectional({
            layer: tf.layers.gru({
              units: 3,
              returnSequences: true,
              name: 'gru',
              kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }),
              recurrentInitializer: tf.initializers.glorotUniform({ seed: 10 }),
            }) as tf.RNN,
            name: 'bi',
          }),
          tf.layers.timeDistributed({
            layer: tf.layers.dense({
              units: 2,
              name: 'per_step',
              kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
            }),
            name: 'td',
          }),
        ],
      });
    const model = build();
    const adaptable = new AdaptableLayersModel(model);
    const forward = model.getLayer('bi') as unknown as { forwardLayer: tf.layers.Layer };
    const gru = forward.forwardLayer.name.replace(/^forward_/, '');
    expect(adaptable.linearTargets().map((t) => [t.name, t.shape])).toEqual([
      ['emb/embeddings', [4, 7]],
      [`bi/forward_${gru}/kernel`, [9, 4]],
      [`bi/forward_${gru}/recurrent_kernel`, [9, 3]],
      [`bi/backward_${gru}/kernel`, [9, 4]],
      [`bi/backward_${gru}/recurrent_kernel`, [9, 3]],
      ['td/kernel', [2, 6]],
    ]);
    // They are the names tfjs itself gives these weights.
    const tfjsNames = model.weights.map((w) => w.originalName);
    for (const { name } of adaptable.linearTargets()) expect(tfjsNames).toContain(name);
    const adapter = ModelAdapter.create(adaptable, { grouping: 2, rank: 2 }, ['kernel', 'emb'], {
      engine: 'native',
    });
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const tokens = tf.tensor2d(
      Array.from({ length: 10 }, (_, i) => (i * 3) % 7),
      [2, 5],
    );
    const outputWeights = tf.tensor3d(
      Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)),
      [2, 5, 2],
    );
    const { actual, expected } = await gradientBothWays(
      model,
      adapter,
      build,
      tokens,
      outputWeights,
    );
    const scale = Math.max(...Array.from(expected, Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(actual, expected)).toBeLessThan(1e-5 * scale);
    tf.dispose([tokens, outputWeights]);
    adapter.dispose();
    model.dispose();
  });

  test('merge writes W + ΔWᵀ into the kernels; unmerge restores them; save and load', async () => {
    const model = convNet(4);
    const adaptable = new AdaptableLayersModel(model);
    const adapter = ModelAdapter.create(adaptable, { grouping: 'weight', rank: 2 }, ['kernel$'], {
      engine: 'native',
    });
    adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
    const x = images(3);
    const before = model.getWeights().map((w) => w.dataSync().slice());
    const adapted = adapter.withDelta(
      (weightOverride) => adaptable.apply(x, { weightOverride }) as tf.Tensor,
    );
    adapter.merge(adaptable);
    const merged = model.predict(x) as tf.Tensor;
    expect(maxAbsDiff(merged.dataSync(), adapted.dataSync())).toBeLessThan(1e-5);
    // While merged the override is the identity: the forward reads the merged kernels.
    const again = adapter.withDelta(
      (weightOverride) => adaptable.apply(x, { weightOverride }) as tf.Tensor,
    );
    expect(maxAbsDiff(again.dataSync(), merged.dataSync())).toBe(0);
    adapter.unmerge(adaptable);
    model.getWeights().forEach((w, i) => {
      expect(maxAbsDiff(w.dataSync(), before[i]!)).toBeLessThan(1e-6);
    });

    const path = join(mkdtempSync(join(tmpdir(), 'superlora-layers-')), 'adapter.safetensors');
    await adapter.save(path);
    const loaded = await ModelAdapter.load(adaptable, path, { engine: 'native' });
    const reloaded = loaded.withDelta(
      (weightOverride) => adaptable.apply(x, { weightOverride }) as tf.Tensor,
    );
    expect(maxAbsDiff(reloaded.dataSync(), adapted.dataSync())).toBe(0);
    // A model whose hidden layer is wider has no hidden/kernel of that shape.
    const wider = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, name: 'conv' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 9, name: 'hidden' }),
        tf.layers.dense({ units: 3, name: 'logits' }),
      ],
    });
    await expect(ModelAdapter.load(new AdaptableLayersModel(wider), path)).rejects.toThrow(
      "target hidden/kernel [8,64] does not exist in the model with that shape (the model's is [9,64])",
    );
    tf.dispose([x, adapted, merged, again, reloaded]);
    wider.dispose();
    loaded.dispose();
    adapter.dispose();
    model.dispose();
  });

  test('a few optimizer steps train the adapter only, and lower the loss', () => {
    const model = convNet(5);
    const adaptable = new AdaptableLayersModel(model);
    const adapter = ModelAdapter.create(adaptable, { rank: 2 }, ['hidden', 'logits'], {
      engine: 'native',
    });
    const x = images(16);
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 16 }, (_, i) => i % 3),
        'int32',
      ),
      3,
    );
    const kernels = model.getWeights().map((w) => w.dataSync().slice());
    const optimizer = tf.train.adam(0.05);
    const loss = () =>
      adapter.withDelta((weightOverride) =>
        tf.losses.softmaxCrossEntropy(
          labels,
          adaptable.apply(x, { training: true, weightOverride }) as tf.Tensor,
        ),
      ) as tf.Scalar;
    const first = tf.tidy(() => loss().dataSync()[0]!);
    for (let step = 0; step < 30; step++) {
      optimizer.minimize(loss, false, [adapter.params]);
    }
    const last = tf.tidy(() => loss().dataSync()[0]!);
    expect(last).toBeLessThan(0.5 * first);
    model.getWeights().forEach((w, i) => expect(w.dataSync()).toEqual(kernels[i]));
    tf.dispose([x, labels]);
    optimizer.dispose();
    adapter.dispose();
    model.dispose();
  });

  test('batch normalization keeps the base model’s moving statistics in training; dropout follows training', () => {
    const build = (dropout: number): tf.Sequential => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 4, kernelSize: 3, name: 'conv' }),
          tf.layers.batchNormalization({ name: 'norm' }),
          tf.layers.dropout({ rate: dropout, seed: 3 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, name: 'logits' }),
        ],
      });
      // Moving statistics far from the batch's moments, so that using either shows.
      const norm = model.getLayer('norm');
      norm.setWeights([
        tf.tensor1d([1.5, 0.5, 2, 1]),
        tf.tensor1d([0.1, -0.2, 0.3, 0]),
        tf.tensor1d([3, -2, 1, 0.5]),
        tf.tensor1d([4, 0.25, 9, 2]),
      ]);
      return model;
    };
    const x = images(8);
    const statistics = (model: tf.LayersModel): Float32Array[] =>
      model
        .getLayer('norm')
        .getWeights()
        .map((w) => w.dataSync() as Float32Array);

    const plain = build(0);
    const adaptable = new AdaptableLayersModel(plain);
    const before = statistics(plain);
    const inference = (plain.apply(x, { training: false }) as tf.Tensor).dataSync();
    const adaptedTraining = (adaptable.apply(x, { training: true }) as tf.Tensor).dataSync();
    expect(Array.from(adaptedTraining)).toEqual(Array.from(inference));
    statistics(plain).forEach((values, i) => expect(values).toEqual(before[i]));
    // tfjs's own training forward normalises with the batch's moments and moves the statistics.
    const tfjsTraining = (plain.apply(x, { training: true }) as tf.Tensor).dataSync();
    expect(maxAbsDiff(tfjsTraining, inference)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(statistics(plain)[2]!, before[2]!)).toBeGreaterThan(0.01); // momentum 0.99

    const withDropout = build(0.5);
    const adaptableWithDropout = new AdaptableLayersModel(withDropout);
    const dropped = (adaptableWithDropout.apply(x, { training: true }) as tf.Tensor).dataSync();
    const kept = (adaptableWithDropout.apply(x, { training: false }) as tf.Tensor).dataSync();
    expect(maxAbsDiff(dropped, kept)).toBeGreaterThan(0.01);
    // The layer's own call is back once the forward returns.
    expect(Object.prototype.hasOwnProperty.call(withDropout.getLayer('norm'), 'call')).toBe(false);
    tf.dispose(x);
    plain.dispose();
    withDropout.dispose();
  });

  test('a seeded training forward draws the same dropout masks, each layer its own', () => {
    const inner = tf.sequential({
      layers: [tf.layers.dropout({ inputShape: [4, 8], rate: 0.5, name: 'innerDrop' })],
    });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4, 8], units: 8, name: 'first', useBias: false }),
        tf.layers.dropout({ rate: 0.5, name: 'drop' }),
        tf.layers.spatialDropout1d({ rate: 0.5, name: 'spatial' }),
        inner,
      ],
    });
    const adaptable = new AdaptableLayersModel(model);
    const x = tf.ones([3, 4, 8]);
    // The layers' mask pattern: which outputs are zero.
    const zeros = (seed?: number): number[] =>
      Array.from((adaptable.apply(x, { training: true, seed }) as tf.Tensor).dataSync(), (v) =>
        v === 0 ? 1 : 0,
      );
    const once = zeros(11);
    expect(zeros(11)).toEqual(once);
    expect(zeros(12)).not.toEqual(once);
    // Three layers of rate 0.5: a little over 7/8 of the outputs are dropped (first's are nonzero).
    const dropped = once.reduce((a, b) => a + b, 0) / once.length;
    expect(dropped).toBeGreaterThan(0.75);
    // Each layer's seed is back as it was (tfjs's unseeded draw).
    for (const name of ['drop', 'spatial']) {
      expect((model.getLayer(name) as unknown as { seed?: number }).seed).toBeUndefined();
    }
    expect((inner.getLayer('innerDrop') as unknown as { seed?: number }).seed).toBeUndefined();
    // No seed, or inference: tfjs's own behaviour.
    expect(zeros()).not.toEqual(zeros());
    const inference = (adaptable.apply(x, { seed: 11 }) as tf.Tensor).dataSync();
    expect(inference).toEqual((model.apply(x) as tf.Tensor).dataSync());
    x.dispose();
    model.dispose();
  });

  test('bad models and overrides are refused with what was wrong', () => {
    expect(() => new AdaptableLayersModel({} as tf.LayersModel)).toThrow(
      'Expected a tf.LayersModel (tf.sequential, tf.model or tf.loadLayersModel) but received Object',
    );
    const noKernels = tf.sequential({
      name: 'plain',
      layers: [tf.layers.flatten({ inputShape: [2, 2] })],
    });
    expect(() => new AdaptableLayersModel(noKernels)).toThrow(
      'Expected the model plain to have a Dense, Conv1D, Conv2D, Conv3D, Embedding, SimpleRNN, LSTM or GRU layer to adapt, but it has none (its layers: Flatten)',
    );
    const model = convNet(6);
    const adaptable = new AdaptableLayersModel(model);
    expect(() => ModelAdapter.create(adaptable, { rank: 1 })).toThrow(
      'none matched (its weights: conv/kernel, hidden/kernel, logits/kernel)',
    );
    const x = images(1);
    expect(() => adaptable.apply(x, { weightOverride: (_, weight) => weight.transpose() })).toThrow(
      'Expected weightOverride to return shape [4, 9] for conv/kernel but received [9, 4]',
    );
    // The failed forward left every kernel reading as itself.
    expect(() => model.predict(x)).not.toThrow();
    tf.dispose(x);
    model.dispose();
    noKernels.dispose();
  });
});
