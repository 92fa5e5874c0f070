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
  ]) {
    expect(pkg).toHaveProperty(name);
  }
  const targets = [
    { name: 'q', shape: [12, 12] as [number, number], layer: 0 },
    { name: 'v', shape: [12, 12] as [number, number], layer: 0 },
  ];
  const plan = pkg.createPlan({ grouping: 1, order: 3, rank: 2, core: 'dense' }, targets);
  expect(plan.paramLayout[0]).toEqual({ name: 'b0.s0.core', shape: [1, 2, 2, 2], offset: 0 });
  const params = plan.initParams();
  expect((await plan.delta(params, { engine: 'tfjs' })).every((v) => v === 0)).toBe(true);
  const path = join(mkdtempSync(join(tmpdir(), 'superlora-api-')), 'a.safetensors');
  await pkg.saveAdapter(path, plan, params);
  const loaded = await pkg.loadAdapter(path);
  expect(loaded.params).toEqual(params);
  expect(() => pkg.createPlan({ rank: -1 }, targets)).toThrow(/config.rank/);
});
