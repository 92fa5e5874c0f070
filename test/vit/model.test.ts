/**
 * The tfjs ViT against an independent float64 HF forward (with tfjs's own kernels, and with the
 * native ones, whose fused LayerNorm and GELU replace the composed ops), the weightOverride
 * contract, dropout, initialisation and config validation.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveViTConfig, ViTFormatError, type ViTConfig } from '../../src/vit/config';
import { registerNativeKernels, unregisterNativeKernels } from '../../src/tfjs/kernels/register';
import { LAYER_NORM, GELU } from '../../src/vit/fusedOps';
import { rowSoftmax } from '../../src/vit/layers';
import { createViT } from '../../src/vit/model';
import { centralDifference } from '../reference/centralDifference';
import { erf64, vitForward64 } from './reference64';
import { maxAbsDiff, randomizedViT, randomPixels, TINY, uniforms, weightValues } from './tinyVit';

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

afterEach(() => {
  unregisterNativeKernels();
});

/** The two kernel sets a ViT runs on the cpu backend; the native one has the fused ops. */
const KERNEL_SETS = ['tfjs kernels', 'native kernels'] as const;
type KernelSet = (typeof KERNEL_SETS)[number];

function useKernels(set: KernelSet): void {
  if (set === 'native kernels') {
    expect(registerNativeKernels()).toBe(true);
    expect(tf.getKernel(LAYER_NORM, 'cpu')).toBeDefined();
    expect(tf.getKernel(GELU, 'cpu')).toBeDefined();
  } else {
    unregisterNativeKernels();
    expect(tf.getKernel(LAYER_NORM, 'cpu')).toBeUndefined();
  }
}

describe('ViT forward', () => {
  test('erf64 of the reference is erf', () => {
    // Known values of erf to 15 digits.
    expect(erf64(0.5)).toBeCloseTo(0.520499877813047, 12);
    expect(erf64(-1.5)).toBeCloseTo(-0.966105146475311, 12);
    expect(erf64(3)).toBeCloseTo(0.999977909503001, 12);
  });

  const variants: [string, Partial<ViTConfig>][] = [
    ['tiny (8×8, patch 4, 3 channels, hidden 8, 2 heads, 2 layers)', TINY],
    [
      'no qkv bias, 1 channel, 3×3 patches, 4 heads',
      {
        ...TINY,
        imageSize: 9,
        patchSize: 3,
        numChannels: 1,
        numAttentionHeads: 4,
        qkvBias: false,
        numLabels: 5,
        layerNormEps: 1e-12,
      },
    ],
  ];
  test.each(
    KERNEL_SETS.flatMap((set) =>
      variants.map(([name, config]): [KernelSet, string, Partial<ViTConfig>] => [
        set,
        name,
        config,
      ]),
    ),
  )('matches the float64 reference with %s: %s', (set, _, config) => {
    useKernels(set);
    const vit = randomizedViT(config, 3);
    const pixels = randomPixels(vit.config, 4);
    const logits = vit.forward(pixels);
    expect(logits.shape).toEqual([4, vit.config.numLabels]);
    const expected = vitForward64(vit.config, weightValues(vit), pixels.dataSync(), 4);
    expect(maxAbsDiff(logits.dataSync(), expected)).toBeLessThan(1e-4);
    // The logits are O(1), so a 1e-4 match is not a match of zeros.
    expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.1);
    logits.dispose();
    pixels.dispose();
    vit.dispose();
  });

  test('leaves no tensors behind', () => {
    const vit = randomizedViT();
    const pixels = randomPixels(vit.config, 2);
    const before = tf.memory().numTensors;
    vit.forward(pixels, { training: true, seed: 1 }).dispose();
    vit.forward(pixels, { weightOverride: (_, w) => w.mul(2) }).dispose();
    expect(tf.memory().numTensors).toBe(before);
    pixels.dispose();
    vit.dispose();
  });

  test('rejects pixels of the wrong shape or dtype, naming the expected shape', () => {
    const vit = randomizedViT();
    const wrong = tf.zeros([2, 3, 16, 16]) as tf.Tensor4D;
    expect(() => vit.forward(wrong)).toThrow('Expected pixelValues of shape [B, 3, 8, 8]');
    const ints = tf.zeros([1, 3, 8, 8], 'int32') as tf.Tensor4D;
    expect(() => vit.forward(ints)).toThrow('Expected float32 pixelValues but received int32');
    tf.dispose([wrong, ints]);
    vit.dispose();
  });
});

describe('linearTargets and weightOverride', () => {
  test('linearTargets lists every Linear weight with HF names, [out, in] shapes and block', () => {
    const vit = createViT({ ...TINY, intermediateSize: 12 });
    const targets = vit.linearTargets();
    const block = (i: number) => [
      { name: `vit.encoder.layer.${i}.attention.attention.query.weight`, shape: [8, 8], layer: i },
      { name: `vit.encoder.layer.${i}.attention.attention.key.weight`, shape: [8, 8], layer: i },
      { name: `vit.encoder.layer.${i}.attention.attention.value.weight`, shape: [8, 8], layer: i },
      { name: `vit.encoder.layer.${i}.attention.output.dense.weight`, shape: [8, 8], layer: i },
      { name: `vit.encoder.layer.${i}.intermediate.dense.weight`, shape: [12, 8], layer: i },
      { name: `vit.encoder.layer.${i}.output.dense.weight`, shape: [8, 12], layer: i },
    ];
    expect(targets).toEqual([
      ...block(0),
      ...block(1),
      { name: 'classifier.weight', shape: [3, 8], layer: -1 },
    ]);
    for (const target of targets) {
      expect(vit.weights.get(target.name)?.shape).toEqual(target.shape);
    }
    vit.dispose();
  });

  test('is called once per Linear weight per forward, with the variable itself', () => {
    const vit = randomizedViT();
    const pixels = randomPixels(vit.config, 2);
    const seen: string[] = [];
    const logits = vit.forward(pixels, {
      weightOverride: (name, weight) => {
        expect(weight).toBe(vit.weights.get(name));
        seen.push(name);
        return weight;
      },
    });
    expect(seen).toEqual(vit.linearTargets().map((t) => t.name));
    const plain = vit.forward(pixels);
    expect(Array.from(logits.dataSync())).toEqual(Array.from(plain.dataSync()));
    tf.dispose([pixels, logits, plain]);
    vit.dispose();
  });

  test('W + ΔW through the override gives exactly the logits of W + ΔW in the weights', () => {
    const vit = randomizedViT();
    const pixels = randomPixels(vit.config, 3);
    const target = 'vit.encoder.layer.1.attention.attention.query.weight';
    const delta = tf.tensor2d(uniforms(5, 64), [8, 8]);
    const overridden = vit.forward(pixels, {
      weightOverride: (name, weight) => (name === target ? weight.add(delta) : weight),
    });
    const before = vit.forward(pixels);
    const variable = vit.weights.get(target) as tf.Variable;
    tf.tidy(() => variable.assign(variable.add(delta)));
    const merged = vit.forward(pixels);
    expect(Array.from(overridden.dataSync())).toEqual(Array.from(merged.dataSync()));
    expect(maxAbsDiff(overridden.dataSync(), before.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([pixels, delta, overridden, before, merged]);
    vit.dispose();
  });

  test('an override of the wrong shape is named', () => {
    const vit = randomizedViT();
    const pixels = randomPixels(vit.config, 1);
    const wrong = tf.zeros([16, 8]);
    expect(() =>
      vit.forward(pixels, {
        weightOverride: (name, weight) =>
          name === 'vit.encoder.layer.0.attention.attention.key.weight' ? wrong : weight,
      }),
    ).toThrow(
      'Expected weightOverride to return shape [8, 8] for vit.encoder.layer.0.attention.attention.key.weight but received [16, 8]',
    );
    tf.dispose([pixels, wrong]);
    vit.dispose();
  });

  test('gradients reach an adapter through the override and the head through its variable', () => {
    const vit = randomizedViT();
    const pixels = randomPixels(vit.config, 2);
    const delta = tf.variable(tf.zeros([8, 8]));
    const target = 'vit.encoder.layer.0.attention.attention.value.weight';
    const head = vit.weights.get('classifier.weight') as tf.Variable;
    const { value, grads } = tf.variableGrads(
      () =>
        vit
          .forward(pixels, {
            weightOverride: (name, weight) => (name === target ? weight.add(delta) : weight),
          })
          .square()
          .sum() as tf.Scalar,
      [delta, head],
    );
    for (const variable of [delta, head]) {
      const grad = grads[variable.name] as tf.Tensor;
      expect(grad.shape).toEqual(variable.shape);
      expect(tf.norm(grad).dataSync()[0]).toBeGreaterThan(1e-6);
    }
    tf.dispose([value, pixels, delta, ...Object.values(grads)]);
    vit.dispose();
  });
});

describe('gradients', () => {
  test('rowSoftmax and its closed-form gradient equal tf.softmax', () => {
    const scores = tf.tensor2d(
      uniforms(21, 5 * 7).map((u) => 20 * u),
      [5, 7],
    );
    const upstream = tf.tensor2d(uniforms(22, 35), [5, 7]);
    const ours = tf.grad((x: tf.Tensor) =>
      rowSoftmax(x as tf.Tensor2D)
        .mul(upstream)
        .sum(),
    );
    const theirs = tf.grad((x: tf.Tensor) => tf.softmax(x).mul(upstream).sum());
    expect(maxAbsDiff(rowSoftmax(scores).dataSync(), tf.softmax(scores).dataSync())).toBeLessThan(
      1e-7,
    );
    expect(maxAbsDiff(ours(scores).dataSync(), theirs(scores).dataSync())).toBeLessThan(1e-6);
  });

  test.each(KERNEL_SETS)('match central differences of the float64 reference with %s', (set) => {
    useKernels(set);
    const vit = randomizedViT(TINY, 6);
    const batch = 2;
    const pixels = randomPixels(vit.config, batch, 7);
    const pixelValues = pixels.dataSync();
    const coefficients = uniforms(8, batch * 3);
    const checked = [
      'vit.encoder.layer.0.attention.attention.query.weight',
      'vit.encoder.layer.1.attention.attention.key.weight',
      'vit.encoder.layer.0.layernorm_before.weight',
      'vit.encoder.layer.1.intermediate.dense.bias',
      'vit.embeddings.position_embeddings',
      'vit.embeddings.patch_embeddings.projection.weight',
      'vit.layernorm.bias',
      'classifier.weight',
    ];
    const variables = checked.map((name) => vit.weights.get(name) as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () =>
        vit
          .forward(pixels)
          .mul(tf.tensor2d(coefficients, [batch, 3]))
          .sum() as tf.Scalar,
      variables,
    );
    const weights64 = new Map<string, Float64Array>();
    for (const [name, values] of weightValues(vit)) weights64.set(name, Float64Array.from(values));
    const loss64 = (): number =>
      vitForward64(vit.config, weights64, pixelValues, batch).reduce(
        (sum, logit, i) => sum + logit * (coefficients[i] as number),
        0,
      );
    expect(Math.abs(value.dataSync()[0]! - loss64())).toBeLessThan(1e-4);
    const step = 1e-5;
    checked.forEach((name, w) => {
      const gradient = grads[variables[w]!.name]!.dataSync();
      const values = weights64.get(name)!;
      for (const index of [0, 5, values.length - 1]) {
        const numeric = centralDifference(values, index, step, loss64);
        expect(Math.abs(gradient[index]! - numeric)).toBeLessThan(1e-3 * (1 + Math.abs(numeric)));
      }
    });
    tf.dispose([value, pixels, ...Object.values(grads)]);
    vit.dispose();
  });
});

describe('dropout', () => {
  const rates = { hiddenDropoutProb: 0.2, attentionProbsDropoutProb: 0.1 };

  test('applies only when training, reproducibly for a seed', () => {
    const vit = randomizedViT({ ...TINY, ...rates });
    const pixels = randomPixels(vit.config, 2);
    const evaluation = vit.forward(pixels).dataSync();
    const evaluationAgain = vit.forward(pixels, { training: false, seed: 4 }).dataSync();
    expect(Array.from(evaluationAgain)).toEqual(Array.from(evaluation));
    const trainA = vit.forward(pixels, { training: true, seed: 4 }).dataSync();
    const trainB = vit.forward(pixels, { training: true, seed: 4 }).dataSync();
    const trainC = vit.forward(pixels, { training: true, seed: 5 }).dataSync();
    expect(Array.from(trainB)).toEqual(Array.from(trainA));
    expect(maxAbsDiff(trainA, evaluation)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(trainA, trainC)).toBeGreaterThan(1e-3);
    pixels.dispose();
    vit.dispose();
  });

  test('with zero rates, training is the evaluation forward', () => {
    const vit = randomizedViT();
    const pixels = randomPixels(vit.config, 2);
    const evaluation = vit.forward(pixels).dataSync();
    const training = vit.forward(pixels, { training: true, seed: 1 }).dataSync();
    expect(Array.from(training)).toEqual(Array.from(evaluation));
    pixels.dispose();
    vit.dispose();
  });
});

describe('createViT', () => {
  test('initialises as HF: σ = initializer_range normals, zero biases, unit LayerNorm gains', () => {
    const vit = createViT({ ...TINY, hiddenSize: 32, initializerRange: 0.05 }, { seed: 7 });
    for (const [name, variable] of vit.weights) {
      const values = Array.from(variable.dataSync());
      if (/layernorm[^.]*\.weight$/.test(name)) {
        expect(values.every((v) => v === 1)).toBe(true);
      } else if (name.endsWith('.bias')) {
        expect(values.every((v) => v === 0)).toBe(true);
      } else {
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
        if (values.length >= 500) expect(std).toBeGreaterThan(0.04);
        if (values.length >= 500) expect(std).toBeLessThan(0.06);
        expect(values.some((v) => v !== 0)).toBe(true);
      }
    }
    vit.dispose();
  });

  test('is deterministic in the seed', () => {
    const [a, b, c] = [1, 1, 2].map((seed) => createViT(TINY, { seed }));
    const query = 'vit.encoder.layer.0.attention.attention.query.weight';
    const values = (vit: typeof a) => Array.from(vit!.weights.get(query)!.dataSync());
    expect(values(b)).toEqual(values(a));
    expect(values(c)).not.toEqual(values(a));
    for (const vit of [a, b, c]) vit!.dispose();
  });
});

describe('config validation names the field', () => {
  const cases: [Partial<ViTConfig> | Record<string, unknown>, string][] = [
    [{ hiddenAct: 'gelu_new' }, 'Expected "gelu" (the exact erf GELU'],
    [
      { hiddenSize: 10, numAttentionHeads: 4 },
      'a multiple of numAttentionHeads (4) for hiddenSize',
    ],
    [{ imageSize: 10, patchSize: 4 }, 'a multiple of patchSize (4) for imageSize but received 10'],
    [{ numHiddenLayers: 0 }, 'Expected an integer ≥ 1 for numHiddenLayers but received 0'],
    [{ hiddenDropoutProb: 1 }, 'Expected a number in [0, 1) for hiddenDropoutProb'],
    [{ layerNormEps: -1 }, 'Expected a finite number > 0 for layerNormEps'],
    [{ qkvBias: 'yes' }, 'Expected a boolean for qkvBias but received "yes"'],
    [{ id2label: ['a', 'b'], numLabels: 3 }, 'Expected 2, the number of entries in id2label'],
  ];
  test.each(cases)('%j', (config, message) => {
    expect(() => resolveViTConfig({ ...TINY, ...config } as Partial<ViTConfig>)).toThrow(
      ViTFormatError,
    );
    expect(() => resolveViTConfig({ ...TINY, ...config } as Partial<ViTConfig>)).toThrow(message);
  });

  test('HF defaults fill what is not given', () => {
    const config = resolveViTConfig({});
    expect(config).toMatchObject({
      hiddenSize: 768,
      numHiddenLayers: 12,
      patchSize: 16,
      imageSize: 224,
      layerNormEps: 1e-12,
      numLabels: 2,
      id2label: ['LABEL_0', 'LABEL_1'],
    });
  });
});
