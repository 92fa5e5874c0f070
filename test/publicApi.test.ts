/** The README's API example, through the compiled package entry point as users import it. */
import { join } from 'path';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const superlora = require(join(__dirname, '..')) as typeof import('../src/index');

test('the package entry point exposes the documented API and it works end to end', async () => {
  const pkg = superlora;
  for (const name of [
    'createPlan',
    'saveAdapter',
    'loadAdapter',
    'presetConfig',
    'ConfigError',
    'version',
    'ModelAdapter',
    'finetune',
    'train',
    'runSweep',
    'namedGrid',
    'meanOverRuns',
    'paretoFrontier',
    'createOptimizer',
    'AdamW',
    'learningRate',
    'clipByGlobalNorm',
    'shippedModelDir',
  ]) {
    expect(pkg).toHaveProperty(name);
  }
  const targets: import('../src/index').Target[] = [
    { name: 'q', shape: [12, 12], layer: 0 },
    { name: 'v', shape: [12, 12], layer: 0 },
  ];
  const plan = pkg.createPlan({ grouping: 1, order: 3, rank: 2, core: 'dense' }, targets);
  expect(plan.paramLayout[0]).toEqual({ name: 'b0.s0.core', shape: [1, 2, 2, 2], offset: 0 });
  const params = plan.initParams();
  expect((await plan.delta(params, { engine: 'tfjs' })).every((v) => v === 0)).toBe(true);
  const path = join(mkdtempSync(join(tmpdir(), 'superlora-api-')), 'a.safetensors');
  await pkg.saveAdapter(path, plan, params);
  const loaded = await pkg.loadAdapter(path);
  expect(loaded.params).toEqual(params);
  // plan.engine(name) is typed as that engine: native's synchronous calls need no cast.
  const moved = params.map((_, i) => Math.cos(i) * 0.1);
  const into = new Float32Array(plan.deltaSize);
  expect(plan.engine('native').deltaInto(moved, into)).toBe(into);
  expect(into).toEqual(await plan.delta(moved, { engine: 'native' }));
  expect(into.some((v) => v !== 0)).toBe(true);
  expect(() => pkg.createPlan({ rank: -1 }, targets)).toThrow(/config.rank/);
});

test('the README’s PEFT example works through the package entry point', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'superlora-api-peft-'));
  const targets = [
    { name: 'blocks.0.q.weight', shape: [16, 16] as [number, number], layer: 0 },
    { name: 'blocks.0.v.weight', shape: [16, 16] as [number, number], layer: 0 },
  ];
  const source = superlora.createPlan({ grouping: 1, rank: 2 }, targets);
  const seeded = source.initParams();
  const sourceParams = seeded.map((_, i) => Math.sin(i) * 0.1);
  await superlora.saveAdapter(join(dir, 'adapter.safetensors'), source, sourceParams);

  const { plan, params } = await superlora.loadAdapter(join(dir, 'adapter.safetensors'));
  const exported = await superlora.peftFromAdapter(plan, params, {
    tolerance: 1e-2,
    engine: 'tfjs',
  });
  expect(exported).toMatchObject({ type: 'LORA', exact: false });
  expect(exported.targets.map((t) => t.module)).toEqual(['blocks.0.q', 'blocks.0.v']);
  expect(Math.max(...exported.targets.map((t) => t.relativeError))).toBeLessThanOrEqual(1e-2);
  await superlora.writePeftAdapter(join(dir, 'peft'), exported.type, exported.modules, new Map());
  const peft = await superlora.readPeftAdapter(join(dir, 'peft'));
  const imported = superlora.adapterFromPeft(peft.modules);
  const before = await plan.delta(params, { engine: 'tfjs' });
  const after = await imported.plan.delta(imported.params, { engine: 'tfjs' });
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < before.length; i++) {
    diff += (before[i]! - after[i]!) ** 2;
    norm += before[i]! ** 2;
  }
  expect(Math.sqrt(diff / norm)).toBeLessThanOrEqual(1e-2);
  for (const p of [source, plan, imported.plan]) p.dispose();
});
