/**
 * Truncated, corrupted and mismatched adapter, model and checkpoint files are rejected — promptly,
 * never by a crash or a hang — with an error of the reader's own class that names the file. Header
 * bytes are corrupted at random (fixed seed): such a file may still parse (a changed digit in the
 * metadata), but if it is refused, the refusal must be as clear as for a truncation.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { createPlan } from '../../src/createPlan';
import { loadAdapter, saveAdapter } from '../../src/io/adapterFile';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import { loadCheckpoint, saveCheckpoint, type NamedArray } from '../../src/train/checkpoint';
import { CONFIG_FILE, WEIGHTS_FILE, loadViT, saveViT } from '../../src/vit/io';
import { createViT } from '../../src/vit/model';
import { seededRandom } from '../conformance/randomConfigs';

const READER_ERRORS = [
  'SafetensorsFormatError',
  'AdapterFileError',
  'ViTFormatError',
  'CheckpointError',
];
const HANG_MS = 10_000;

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'superlora-corrupt-'));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Resolves with the error `load` rejects with, or null when it loads; fails on a hang. */
async function outcome(load: () => Promise<unknown>): Promise<Error | null> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the reader hung for ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    await Promise.race([load(), hang]);
    return null;
  } catch (error) {
    if (error instanceof Error && /the reader hung/.test(error.message)) throw error;
    return error as Error;
  } finally {
    clearTimeout(timer);
  }
}

function expectClear(error: Error | null, file: string, what: string): void {
  if (error === null) throw new Error(`${what}: the damaged file was accepted`);
  if (!READER_ERRORS.includes(error.name) || !error.message.includes(file)) {
    throw new Error(
      `${what}: unclear error ${error.name}: ${error.message} (expected one naming ${file})`,
    );
  }
}

function headerEnd(bytes: Uint8Array): number {
  return 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
}

/** Cuts at every structural boundary and in the middle of each part. */
function truncationPoints(bytes: Uint8Array): number[] {
  const end = headerEnd(bytes);
  const size = bytes.length;
  return [
    0,
    1,
    7,
    8,
    9,
    Math.floor(end / 2),
    end - 1,
    end,
    end + 1,
    Math.floor((end + size) / 2),
    size - 1,
  ];
}

/**
 * Every truncation must be refused clearly; random header corruptions and trailing garbage either
 * load or are refused clearly.
 */
async function damageAndCheck(
  kind: string,
  original: Uint8Array,
  file: string,
  load: () => Promise<unknown>,
  seed: number,
): Promise<{ refused: number; loaded: number }> {
  let refused = 0;
  let loaded = 0;
  for (const cut of truncationPoints(original)) {
    writeFileSync(file, original.subarray(0, cut));
    expectClear(
      await outcome(load),
      file,
      `${kind} truncated to ${cut} of ${original.length} bytes`,
    );
    refused++;
  }
  const random = seededRandom(seed);
  const end = headerEnd(original);
  for (let round = 0; round < 40; round++) {
    const damaged = Uint8Array.from(original);
    const flips = 1 + Math.floor(random() * 3);
    const where: string[] = [];
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(random() * end);
      damaged[at] = Math.floor(random() * 256);
      where.push(`${at}=${damaged[at]}`);
    }
    writeFileSync(file, damaged);
    const error = await outcome(load);
    if (error === null) loaded++;
    else {
      expectClear(error, file, `${kind} with header bytes ${where.join(', ')}`);
      refused++;
    }
  }
  writeFileSync(file, Buffer.concat([original, Buffer.from('garbage')]));
  const trailing = await outcome(load);
  if (trailing !== null) expectClear(trailing, file, `${kind} with trailing bytes`);
  writeFileSync(file, original);
  expect(await outcome(load)).toBeNull(); // the undamaged file still loads
  return { refused, loaded };
}

test('adapter files: truncated, corrupted or mismatched are refused naming the file', async () => {
  const targets = [
    { name: 'q', shape: [6, 4] as [number, number], layer: 0 },
    { name: 'v', shape: [6, 4] as [number, number], layer: 0 },
  ];
  const plan = createPlan({ rank: 2, projection: { ratio: 0.5 }, shuffle: true }, targets);
  const params = Float32Array.from({ length: plan.numParams }, (_, i) => Math.sin(i));
  const file = join(directory, 'adapter.safetensors');
  await saveAdapter(file, plan, params, { embedTables: true });
  const original = readFileSync(file);
  const load = async () => (await loadAdapter(file)).plan.dispose();
  const { refused } = await damageAndCheck('adapter', original, file, load, 11);
  expect(refused).toBeGreaterThan(20);

  // Mismatched: the tensors of one config under the metadata of another.
  const { metadata, tensors } = await readSafetensors(file);
  const other = createPlan({ rank: 3 }, targets);
  await writeSafetensors(file, tensors, {
    ...metadata,
    config: JSON.stringify({ ...JSON.parse(metadata['config'] as string), rank: [3] }),
  });
  expectClear(await outcome(load), file, 'adapter whose config does not match its tensors');
  // Metadata that is not JSON, a target list that is not one, another format.
  for (const [field, value] of [
    ['config', '{"rank": '],
    ['targets', '[{"name": "q"}]'],
    ['format', 'safetensors'],
    ['version', '2'],
  ]) {
    await writeSafetensors(file, tensors, { ...metadata, [field as string]: value as string });
    expectClear(await outcome(load), file, `adapter with metadata ${field} = ${value}`);
  }
  other.dispose();
  plan.dispose();
});

test('model folders: truncated, corrupted or mismatched weights and config.json are refused naming the file', async () => {
  const dir = join(directory, 'model');
  const config = {
    imageSize: 8,
    patchSize: 4,
    numChannels: 1,
    hiddenSize: 8,
    numHiddenLayers: 1,
    numAttentionHeads: 2,
    intermediateSize: 16,
    numLabels: 3,
  };
  const vit = createViT(config, { seed: 1 });
  await saveViT(dir, vit);
  vit.dispose();
  const weights = join(dir, WEIGHTS_FILE);
  const configFile = join(dir, CONFIG_FILE);
  const load = async () => (await loadViT(dir)).dispose();
  const { refused } = await damageAndCheck('model', readFileSync(weights), weights, load, 12);
  expect(refused).toBeGreaterThan(20);

  // config.json: cut short, or describing another model than the weights.
  const configText = readFileSync(configFile, 'utf8');
  writeFileSync(configFile, configText.slice(0, Math.floor(configText.length / 2)));
  expectClear(await outcome(load), configFile, 'truncated config.json');
  const json = JSON.parse(configText) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...json, hidden_size: 16, intermediate_size: 32 }));
  expectClear(await outcome(load), weights, 'config.json of a wider model');
  writeFileSync(configFile, JSON.stringify({ ...json, num_hidden_layers: 2 }));
  expectClear(await outcome(load), weights, 'config.json of a deeper model');
  writeFileSync(configFile, configText);
  expect(await outcome(load)).toBeNull();
});

test('checkpoints: truncated, corrupted or mismatched are refused naming the file', async () => {
  const file = join(directory, 'checkpoint.safetensors');
  const shapes = new Map<string, number[]>([
    ['a', [3, 4]],
    ['b', [5]],
  ]);
  const arrays = (scale: number): Map<string, NamedArray> =>
    new Map(
      [...shapes].map(([name, shape]) => [
        name,
        {
          shape,
          values: Float32Array.from(
            { length: shape.reduce((x, y) => x * y, 1) },
            (_, i) => scale * i,
          ),
        },
      ]),
    );
  const state = {
    completedSteps: 7,
    runKey: 'run',
    params: arrays(1),
    optimizerState: new Map([['exp_avg', arrays(0.5)]]),
  };
  await saveCheckpoint(file, state);
  const load = () => loadCheckpoint(file, 'run', shapes);
  const { refused } = await damageAndCheck('checkpoint', readFileSync(file), file, load, 13);
  expect(refused).toBeGreaterThan(20);

  const mismatched: [string, () => Promise<void>][] = [
    ['another run', async () => saveCheckpoint(file, { ...state, runKey: 'other' })],
    [
      'a tensor of another shape',
      async () => {
        const params = arrays(1);
        params.set('a', { shape: [4, 3], values: new Float32Array(12) });
        await saveCheckpoint(file, { ...state, params });
      },
    ],
    [
      'a missing tensor',
      async () => {
        const params = arrays(1);
        params.delete('b');
        await saveCheckpoint(file, { ...state, params });
      },
    ],
    [
      'an extra tensor',
      async () => {
        const params = arrays(1);
        params.set('c', { shape: [1], values: new Float32Array(1) });
        await saveCheckpoint(file, { ...state, params });
      },
    ],
    [
      'an optimizer state tensor of another shape',
      async () => {
        const moments = arrays(1);
        moments.set('b', { shape: [6], values: new Float32Array(6) });
        await saveCheckpoint(file, { ...state, optimizerState: new Map([['exp_avg', moments]]) });
      },
    ],
    [
      'optimizer state of a variable the run does not have',
      async () => {
        const moments = arrays(1);
        moments.set('c', { shape: [1], values: new Float32Array(1) });
        await saveCheckpoint(file, { ...state, optimizerState: new Map([['momentum', moments]]) });
      },
    ],
    [
      'an adapter file instead',
      async () => {
        const plan = createPlan({ rank: 1 }, [{ name: 'w', shape: [2, 2], layer: 0 }]);
        await saveAdapter(file, plan, new Float32Array(plan.numParams));
        plan.dispose();
      },
    ],
  ];
  for (const [what, write] of mismatched) {
    await write();
    expectClear(await outcome(load), file, `checkpoint with ${what}`);
  }
});
