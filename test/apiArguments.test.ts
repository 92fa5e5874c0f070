/**
 * The library API called from JavaScript with arguments its types rule out: a clear error naming
 * what was expected, never "Cannot read properties of null", and no field taken from a prototype.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { resolveConfig, validateTargets, type Target } from '../src/config';
import { createPlan, type Plan } from '../src/createPlan';
import { loadDataset, type LoadDatasetOptions } from '../src/data/loadDataset';
import { saveAdapter } from '../src/io/adapterFile';
import { writePeftAdapter, type PeftModule } from '../src/io/peftFile';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { adapterFromPeft, exactPeftType, peftFromAdapter } from '../src/interop/peft';
import { ModelAdapter, selectTargets, type AdaptableModel } from '../src/tfjs/modelAdapter';
import { resolveViTConfig } from '../src/vit/config';

const targets: Target[] = [{ name: 'w', shape: [4, 4], layer: 0 }];
const notAPlan = null as unknown as Plan;

test('a missing plan, model or module list is named, with what was received', async () => {
  const expected = 'Expected a Plan (from createPlan or loadAdapter) for plan but received';
  await expect(saveAdapter('a.safetensors', notAPlan, new Float32Array(1))).rejects.toThrow(
    `${expected} null`,
  );
  await expect(peftFromAdapter({} as Plan, new Float32Array(1))).rejects.toThrow(
    `${expected} Object`,
  );
  expect(() => exactPeftType(undefined as unknown as Plan)).toThrow(`${expected} undefined`);
  expect(() => new ModelAdapter(notAPlan, new Float32Array(1))).toThrow(`${expected} null`);
  expect(() => adapterFromPeft(null as unknown as PeftModule[])).toThrow(
    "Expected an array of PEFT modules (readPeftAdapter's modules) but received null",
  );
  expect(() => selectTargets(null as unknown as AdaptableModel, ['q'])).toThrow(
    'Expected an adaptable model ({ weights: Map, linearTargets() }: a ViT, or an AdaptableLayersModel for a tfjs Layers model) but received null',
  );
  const model: AdaptableModel = { weights: new Map(), linearTargets: () => targets };
  expect(() => selectTargets(model, 'w' as unknown as string[])).toThrow(
    'Expected an array of target patterns (regular expressions) but received string',
  );
  await expect(loadDataset('mnist', null as unknown as LoadDatasetOptions)).rejects.toThrow(
    "Expected options { split: 'train' | 'test', … } for loadDataset but received null",
  );
});

test('config fields come from the object itself, never from its prototype', () => {
  const inherited = Object.create({ rank: 3, order: 3, shuffle: 'yes' }) as object;
  expect(resolveConfig(inherited)).toEqual(resolveConfig({}));
  const target = Object.assign(Object.create({ layer: 'inherited' }) as object, {
    name: 'w',
    shape: [4, 4],
  });
  expect(() => validateTargets([target])).toThrow(
    'Expected a string or a number for targets[0].layer but received undefined',
  );
  const prototype = Object.prototype as Record<string, unknown>;
  prototype['rank'] = 64; // a polluted Object.prototype
  try {
    expect(resolveConfig({}).rank).toEqual(resolveConfig(undefined).rank);
    expect(resolveConfig({ grouping: 1 }).rank).toEqual([4]);
  } finally {
    delete prototype['rank'];
  }
  const vit = resolveViTConfig(Object.create({ hiddenSize: 12 }) as object);
  expect(vit.hiddenSize).toBe(768);
});

test('a params array whose buffer was transferred says so', async () => {
  const plan = createPlan({}, targets);
  const params = new Float32Array(plan.numParams);
  structuredClone(params.buffer, { transfer: [params.buffer] });
  await expect(plan.delta(params, { engine: 'native' })).rejects.toThrow(
    `Expected ${plan.numParams} values for params but received 0 (its ArrayBuffer is empty: was it transferred to a worker or detached?)`,
  );
  plan.dispose();
});

test('a "__proto__" metadata key survives a round trip', () => {
  const metadata: Record<string, string> = { format: 'pt' };
  Object.defineProperty(metadata, '__proto__', { value: 'kept', enumerable: true });
  const bytes = encodeSafetensors(new Map(), metadata);
  const decoded = decodeSafetensors(bytes);
  expect(Object.entries(decoded.metadata)).toEqual([
    ['format', 'pt'],
    ['__proto__', 'kept'],
  ]);
  expect(Object.getPrototypeOf(decoded.metadata)).toBe(Object.prototype);
});

test('a PEFT folder path that is a file is refused by name', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'superlora-api-args-')), 'taken');
  writeFileSync(file, 'not a folder');
  const modules: PeftModule[] = [
    {
      name: 'm',
      shape: [2, 2],
      scaling: 1,
      factors: [{ rows: 2, cols: 2, rank: 1, up: new Float32Array(2), down: new Float32Array(2) }],
    },
  ];
  await expect(writePeftAdapter(file, 'LORA', modules, new Map())).rejects.toThrow(
    `Cannot write ${join(file, 'adapter_model.safetensors')}: ${file} is not a folder`,
  );
});
