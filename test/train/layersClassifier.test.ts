/**
 * A tfjs Layers model as an image classifier: its input geometry read from the model, batchAt's
 * pixels mapped into the model's input range, logits equal to the head's pre-activation output
 * computed by hand, a new head of another size sharing the body's weights, the head file's
 * [labels, hidden] layout, a save / load round trip with labels and input range, an adapter's
 * forward against the merged model, and clear errors for models it cannot classify with.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { classifierKind } from '../../src/train/imageClassifier';
import { LayersClassifier, loadLayersClassifier } from '../../src/train/layersClassifier';
import { layersModelFiles } from '../../src/io/layersModelFiles';

const dir = mkdtempSync(join(tmpdir(), 'superlora-layers-classifier-'));

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

/** A small CNN on [side, side, channels] images ending in a softmax Dense head of `labels`. */
function cnn(side: number, channels: number, labels: number, seed = 1): tf.LayersModel {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [side, side, channels],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        name: 'conv',
        kernelInitializer: init(0),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed }),
      }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({ units: 6, activation: 'relu', name: 'hidden', kernelInitializer: init(1) }),
      tf.layers.dense({
        units: labels,
        activation: 'softmax',
        name: 'head',
        kernelInitializer: init(2),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed }),
      }),
    ],
  });
}

/** Pixel values as batchAt makes them: NCHW in [−1, 1]. */
function pixels(batch: number, channels: number, side: number, seed = 3): tf.Tensor4D {
  return tf.randomUniform([batch, channels, side, side], -1, 1, 'float32', seed) as tf.Tensor4D;
}

function close(actual: tf.Tensor, expected: tf.Tensor, tolerance = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const difference = tf.tidy(() => actual.sub(expected).abs().max().dataSync()[0] as number);
  expect(difference).toBeLessThanOrEqual(tolerance);
}

test('input geometry: [H, W, C], [H, W] and flattened inputs; others refused by shape', () => {
  const flatRgb = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [8 * 8 * 3], units: 4, name: 'a' }),
      tf.layers.dense({ units: 2, name: 'b' }),
    ],
  });
  const rgb = new LayersClassifier(flatRgb);
  expect([rgb.imageSize, rgb.numChannels]).toEqual([8, 3]);
  rgb.dispose();
  const grey2d = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [5, 5] }),
      tf.layers.dense({ units: 4, name: 'a' }),
      tf.layers.dense({ units: 2, name: 'b' }),
    ],
  });
  const grey = new LayersClassifier(grey2d);
  expect([grey.imageSize, grey.numChannels]).toEqual([5, 1]);
  grey.dispose();
  const classifier = new LayersClassifier(cnn(6, 1, 3));
  expect([classifier.imageSize, classifier.numChannels]).toEqual([6, 1]);
  expect(classifier.labels).toEqual(['0', '1', '2']);
  expect(classifier.adaptable.linearTargets().map((t) => [t.name, t.shape])).toEqual([
    ['conv/kernel', [4, 9]],
    ['hidden/kernel', [6, 64]],
  ]);
  classifier.dispose();

  const refused = (shape: number[], why: RegExp) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const model = tf.sequential({
      layers: [
        tf.layers.reshape({ inputShape: shape, targetShape: [size] }),
        tf.layers.dense({ units: 4, name: 'a' }),
        tf.layers.dense({ units: 2, name: 'b' }),
      ],
    });
    expect(() => new LayersClassifier(model)).toThrow(why);
    model.dispose();
  };
  refused([6, 5, 1], /square images .* input is \[null, 6, 5, 1\]: the image is not square/);
  refused([6, 6, 2], /2 channels/);
  refused([10], /10 is neither H·W nor H·W·3/);
  refused([2, 2, 2, 1], /4 dimensions per image/);
});

test('logits are the head before its softmax, on the image scaled to the input range', () => {
  const model = cnn(6, 3, 4);
  const classifier = new LayersClassifier(model, { inputRange: [0, 255] });
  const x = pixels(5, 3, 6);
  const logits = classifier.logits(x);
  // By hand: NCHW [−1, 1] → NHWC [0, 255]; the model's probabilities are softmax(logits).
  const input = x.transpose([0, 2, 3, 1]).add(1).mul(127.5);
  close(tf.softmax(logits), model.predict(input) as tf.Tensor, 1e-4);
  // …and the head's pre-activation output itself, from the hidden layer's output.
  const features = tf.model({ inputs: model.inputs, outputs: model.getLayer('hidden').output });
  const [kernel, bias] = model.getLayer('head').getWeights() as [tf.Tensor2D, tf.Tensor1D];
  close(logits, (features.predict(input) as tf.Tensor2D).matMul(kernel).add(bias), 1e-3);
  expect(() => classifier.logits(pixels(2, 1, 6))).toThrow(
    'Expected pixelValues of shape [B, 3, 6, 6] but received [2, 1, 6, 6]',
  );
  classifier.dispose();
});

test('a new head of another size keeps the body, is seeded, and reads back as [labels, hidden]', () => {
  const classifier = new LayersClassifier(cnn(6, 1, 3));
  const x = pixels(4, 1, 6);
  const hidden = classifier.adaptable.apply(x.transpose([0, 2, 3, 1]).add(1).div(2)) as tf.Tensor;
  classifier.resetHead(5, 7, ['a', 'b', 'c', 'd', 'e']);
  expect(classifier.labels).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect([...classifier.headVariables.keys()]).toEqual(['head/kernel', 'head/bias']);
  const head = classifier.readHead();
  expect(head.weight.shape).toEqual([5, 6]);
  expect(head.bias.data).toEqual(new Float32Array(5));
  expect(head.labels).toEqual(['a', 'b', 'c', 'd', 'e']);
  // The head's weight is the Dense kernel [hidden, labels] transposed.
  const kernel = classifier.headVariables.get('head/kernel') as tf.Variable;
  close(tf.tensor2d(head.weight.data, [5, 6]), kernel.transpose());
  // logits = body features · kernel + bias, the body unchanged.
  close(classifier.logits(x), tf.matMul(hidden, kernel));
  expect(classifier.model.outputs[0]!.shape).toEqual([null, 5]);

  const again = new LayersClassifier(cnn(6, 1, 3));
  again.resetHead(5, 7);
  expect(again.readHead().weight.data).toEqual(head.weight.data);
  again.resetHead(5, 8);
  expect(again.readHead().weight.data).not.toEqual(head.weight.data);
  again.dispose();

  // setHead takes a head file's layout; another row count makes a head of that size.
  const weight = Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.5);
  classifier.setHead(
    {
      weight: { dtype: 'F32', shape: [2, 6], data: weight },
      bias: { dtype: 'F32', shape: [2], data: Float32Array.of(0.25, -0.5) },
      labels: ['no', 'yes'],
    },
    'head.safetensors',
  );
  expect(classifier.labels).toEqual(['no', 'yes']);
  close(
    classifier.logits(x),
    tf.matMul(hidden, tf.tensor2d(weight, [2, 6]).transpose()).add(tf.tensor1d([0.25, -0.5])),
  );
  expect(() =>
    classifier.setHead(
      {
        weight: { dtype: 'F32', shape: [2, 7], data: new Float32Array(14) },
        bias: { dtype: 'F32', shape: [2], data: new Float32Array(2) },
      },
      'other.safetensors',
    ),
  ).toThrow(
    "other.safetensors: the head's weight has shape [2,7] but the model's classifier layer head needs [labels, 6]",
  );
  classifier.dispose();
});

test('save and load keep the weights, the labels and the input range', async () => {
  const classifier = new LayersClassifier(cnn(6, 1, 3), { inputRange: [-1, 1] });
  classifier.resetHead(2, 0, ['cat', 'dog']);
  const location = join(dir, 'saved');
  await classifier.save(location);
  expect(classifierKind(location)).toBe('layers');
  expect(classifierKind(join(location, 'model.json'))).toBe('layers');
  const loaded = await loadLayersClassifier(location);
  expect(loaded.labels).toEqual(['cat', 'dog']);
  expect(loaded.inputRange).toEqual([-1, 1]);
  const x = pixels(3, 1, 6);
  close(loaded.logits(x), classifier.logits(x), 0);
  // An explicit range wins over the file's.
  const rescaled = await loadLayersClassifier(location, { inputRange: [0, 1] });
  expect(rescaled.inputRange).toEqual([0, 1]);
  for (const c of [classifier, loaded, rescaled]) c.dispose();
});

test('an adapter on the body: logits with the override equal the merged model’s, and gradients reach it', () => {
  const classifier = new LayersClassifier(cnn(6, 1, 3));
  const adapter = ModelAdapter.create(classifier.adaptable, { grouping: 1, order: 2, rank: 2 }, [
    '.',
  ]);
  adapter.params.assign(tf.randomUniform([adapter.numParams], -0.3, 0.3, 'float32', 5));
  const x = pixels(4, 1, 6);
  const adapted = adapter.withDelta((weightOverride) => classifier.logits(x, { weightOverride }));
  const { grads } = tf.variableGrads(
    () =>
      adapter.withDelta((weightOverride) =>
        classifier.logits(x, { weightOverride }).square().sum(),
      ) as tf.Scalar,
    [adapter.params],
  );
  const gradient = grads[adapter.params.name] as tf.Tensor;
  expect(tf.tidy(() => gradient.abs().max().dataSync()[0] as number)).toBeGreaterThan(0);
  adapter.merge(classifier.adaptable);
  close(classifier.logits(x), adapted, 1e-4);
  adapter.dispose();
  classifier.dispose();
});

test('models it cannot classify with are refused by what is wrong, and nothing leaks', async () => {
  const before = tf.memory().numTensors;
  const softmaxLast = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 3, name: 'a' }),
      tf.layers.dense({ units: 2, name: 'b' }),
      tf.layers.activation({ activation: 'softmax', name: 'probabilities' }),
    ],
  });
  expect(() => new LayersClassifier(softmaxLast)).toThrow(
    /end in a Dense classifier layer but its output layer probabilities is Activation/,
  );
  softmaxLast.dispose();
  const onlyHead = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [4], units: 2, name: 'head' })],
  });
  expect(() => new LayersClassifier(onlyHead)).toThrow(/has none/);
  onlyHead.dispose();
  const input = tf.input({ shape: [4] });
  const twoOutputs = tf.model({
    inputs: input,
    outputs: [
      tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor,
      tf.layers.dense({ units: 3 }).apply(input) as tf.SymbolicTensor,
    ],
  });
  expect(() => new LayersClassifier(twoOutputs)).toThrow(
    /one input and one output but the model .* has 1 inputs and 2 outputs/,
  );
  twoOutputs.dispose();
  expect(() => new LayersClassifier({} as tf.LayersModel)).toThrow(
    'Expected a tf.LayersModel but received Object',
  );

  const model = cnn(6, 1, 3);
  await model.save(layersModelFiles(join(dir, 'leak')));
  model.dispose();
  const loaded = await loadLayersClassifier(join(dir, 'leak'));
  loaded.resetHead(4, 1);
  tf.tidy(() => {
    loaded.logits(pixels(2, 1, 6));
  });
  loaded.dispose();
  expect(tf.memory().numTensors).toBe(before);
  expect(() => classifierKind(join(dir, 'missing'))).toThrow(/it does not exist/);
  expect(() => classifierKind(dir)).toThrow(/has neither config.json nor model.json/);
});
