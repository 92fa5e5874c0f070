import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { LayersModelFileError, layersModelFiles } from '../../src/io/layersModelFiles';

function model(seed: number): tf.Sequential {
  return tf.sequential({
    name: 'small',
    layers: [
      tf.layers.conv2d({
        inputShape: [5, 5, 2],
        filters: 3,
        kernelSize: 2,
        name: 'conv',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 1 }),
      }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({
        units: 4,
        name: 'out',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

function folder(): string {
  return mkdtempSync(join(tmpdir(), 'superlora-layers-files-'));
}

const input = () =>
  tf.tensor4d(
    Float32Array.from({ length: 2 * 50 }, (_, i) => Math.sin(i * 0.3)),
    [2, 5, 5, 2],
  );

function weightsOf(m: tf.LayersModel): Float32Array[] {
  return m.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('tfjs Layers models on the file system', () => {
  test('save then load gives the same weights, bit for bit, and the same outputs', async () => {
    const dir = folder();
    const original = model(1);
    await original.save(layersModelFiles(dir));
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toBe('model.json');
    expect(files[1]).toMatch(/^weights\.[0-9a-f]{16}\.bin$/);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual([files[1]]);
    // 2·2·2·3 + 3 + 48·4 + 4 float32 values.
    expect(readFileSync(join(dir, files[1]!)).length).toBe(4 * (24 + 3 + 192 + 4));

    const loaded = await tf.loadLayersModel(layersModelFiles(join(dir, 'model.json')));
    expect(loaded.layers.map((l) => l.name)).toEqual(['conv', 'flat', 'out']);
    const expected = weightsOf(original);
    weightsOf(loaded).forEach((w, i) => expect(w).toEqual(expected[i]));
    const x = input();
    const a = original.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(b.dataSync()).toEqual(a.dataSync());
    tf.dispose([x, a, b]);
    original.dispose();
    loaded.dispose();
  });

  test('saving over a model replaces its shard; shards split anywhere load as one', async () => {
    const dir = folder();
    const first = model(2);
    const second = model(3);
    await first.save(layersModelFiles(dir));
    const before = readdirSync(dir);
    await second.save(layersModelFiles(dir));
    const after = readdirSync(dir);
    expect(after).toHaveLength(2);
    expect(after.filter((f) => before.includes(f))).toEqual(['model.json']);

    // A converter's layout: two groups, the second in two shards cut mid-value.
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const bytes = readFileSync(join(dir, json.weightsManifest[0].paths[0]));
    const specs = json.weightsManifest[0].weights;
    const firstGroupBytes = 4 * (24 + 3);
    writeFileSync(join(dir, 'group1-shard1of1.bin'), bytes.subarray(0, firstGroupBytes));
    writeFileSync(join(dir, 'group2-shard1of2.bin'), bytes.subarray(firstGroupBytes, 500));
    writeFileSync(join(dir, 'group2-shard2of2.bin'), bytes.subarray(500));
    json.weightsManifest = [
      { paths: ['group1-shard1of1.bin'], weights: specs.slice(0, 2) },
      { paths: ['group2-shard1of2.bin', 'group2-shard2of2.bin'], weights: specs.slice(2) },
    ];
    writeFileSync(join(dir, 'converted.json'), JSON.stringify(json));
    const loaded = await tf.loadLayersModel(layersModelFiles(join(dir, 'converted.json')));
    const expected = weightsOf(second);
    weightsOf(loaded).forEach((w, i) => expect(w).toEqual(expected[i]));
    first.dispose();
    second.dispose();
    loaded.dispose();
  });

  test('a shard another model in the folder names is kept when one of them is saved over', async () => {
    const dir = folder();
    const same = model(5);
    await same.save(layersModelFiles(join(dir, 'a.json')));
    await same.save(layersModelFiles(join(dir, 'b.json')));
    expect(readdirSync(dir)).toHaveLength(3); // a.json, b.json and their one shard
    const other = model(6);
    await other.save(layersModelFiles(join(dir, 'a.json')));
    const reloaded = await tf.loadLayersModel(layersModelFiles(join(dir, 'b.json')));
    const expected = weightsOf(same);
    weightsOf(reloaded).forEach((w, i) => expect(w).toEqual(expected[i]));
    expect(readdirSync(dir)).toHaveLength(4);
    same.dispose();
    other.dispose();
    reloaded.dispose();
  });

  test('a missing, damaged or mismatched model names the file and the fault', async () => {
    const dir = folder();
    const load = (location: string) => tf.loadLayersModel(layersModelFiles(location));
    await expect(load(join(dir, 'none'))).rejects.toThrow(
      `${join(dir, 'none', 'model.json')}: no such file (expected the model.json of a tfjs Layers model)`,
    );
    await expect(load(join(dir, 'none'))).rejects.toBeInstanceOf(LayersModelFileError);
    writeFileSync(join(dir, 'broken.json'), '{"modelTopology": {,}');
    await expect(load(join(dir, 'broken.json'))).rejects.toThrow(
      `${join(dir, 'broken.json')}: unexpected "," at line 1, column 20`,
    );
    writeFileSync(join(dir, 'graph.json'), '{"weightsManifest": []}');
    await expect(load(join(dir, 'graph.json'))).rejects.toThrow('has no modelTopology object');

    const m = model(4);
    await m.save(layersModelFiles(dir));
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const shard = join(dir, json.weightsManifest[0].paths[0]);
    writeFileSync(shard, readFileSync(shard).subarray(0, 100));
    await expect(load(dir)).rejects.toThrow(
      `hold 100 bytes, but the weights ${join(dir, 'model.json')} lists for them take 892`,
    );
    json.weightsManifest[0].paths = ['gone.bin'];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    await expect(load(dir)).rejects.toThrow(
      `${join(dir, 'gone.bin')}: cannot read this weight shard, listed in ${join(dir, 'model.json')}`,
    );
    expect(() => layersModelFiles('')).toThrow('Expected a folder or model.json path');
    m.dispose();
  });
});
