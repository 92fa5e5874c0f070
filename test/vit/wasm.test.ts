/**
 * The ViT on the wasm backend (a dependency, ~4× faster than cpu for ViT-sized matMuls): the same
 * float64 reference, and gradients equal to the cpu backend's, including the custom softmax grad.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { vitForward64 } from './reference64';
import { maxAbsDiff, randomizedViT, randomPixels, TINY, weightValues } from './tinyVit';

beforeAll(() => tf.enableProdMode());

async function forwardAndGrads(
  backend: string,
): Promise<{ logits: Float32Array; grads: Float32Array[] }> {
  await tf.setBackend(backend);
  const vit = randomizedViT({ ...TINY, imageSize: 12, numLabels: 4 }, 12);
  const pixels = randomPixels(vit.config, 3, 13);
  const logits = vit.forward(pixels);
  const expected = vitForward64(vit.config, weightValues(vit), pixels.dataSync(), 3);
  expect(maxAbsDiff(logits.dataSync(), expected)).toBeLessThan(1e-4);
  const { value, grads } = tf.variableGrads(() => vit.forward(pixels).square().sum() as tf.Scalar);
  const gradValues = [...vit.weights.values()].map(
    (variable) => grads[variable.name]!.dataSync() as Float32Array,
  );
  const result = { logits: logits.dataSync() as Float32Array, grads: gradValues };
  tf.dispose([pixels, logits, value, ...Object.values(grads)]);
  vit.dispose();
  return result;
}

test('wasm forward matches the float64 reference and its gradients match cpu', async () => {
  const cpu = await forwardAndGrads('cpu');
  const wasm = await forwardAndGrads('wasm');
  expect(tf.getBackend()).toBe('wasm');
  expect(maxAbsDiff(wasm.logits, cpu.logits)).toBeLessThan(1e-4);
  cpu.grads.forEach((gradient, i) => {
    const scale = Math.max(1, ...Array.from(gradient, Math.abs));
    expect(maxAbsDiff(wasm.grads[i]!, gradient) / scale).toBeLessThan(1e-4);
  });
});
