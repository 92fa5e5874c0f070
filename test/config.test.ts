import { ConfigError, resolveConfig, validateTargets } from '../src/config';
import { layoutPlan } from '../src/plan';
import { presetConfig, presetNames } from '../src/presets';

describe('config (SPEC §2)', () => {
  test('defaults', () => {
    expect(resolveConfig({})).toEqual({
      grouping: 'weight',
      order: 2,
      splits: 1,
      rank: [4],
      core: 'identity',
      reshape: 'square',
      projection: null,
      shuffle: false,
      scale: 1,
      seed: 0,
    });
    expect(resolveConfig({ order: 3 }).core).toBe('dense');
    expect(resolveConfig({ splits: 3, rank: 2 }).rank).toEqual([2, 2, 2]);
  });

  test.each([
    [{ bogus: 1 }, /config.bogus/],
    [{ grouping: 0 }, /config.grouping.*0/],
    [{ grouping: 'layers' }, /config.grouping.*"layers"/],
    [{ order: 1.5 }, /config.order.*1.5/],
    [{ splits: 0 }, /config.splits.*0/],
    [{ rank: 0 }, /config.rank.*0/],
    [{ splits: 2, rank: [1] }, /2 entries.*config.rank.*\[1\]/],
    [{ rank: ['half'] }, /config.rank\[0\].*"half"/],
    [{ core: 'sparse' }, /config.core.*"sparse"/],
    [{ reshape: 'round' }, /config.reshape.*"round"/],
    [{ projection: { ratio: 0 } }, /config.projection.ratio.*0/],
    [{ projection: { ratio: 1.5 } }, /config.projection.ratio.*1.5/],
    [{ projection: { ratio: 0.5, extra: 1 } }, /config.projection.extra/],
    [{ shuffle: 'yes' }, /config.shuffle.*"yes"/],
    [{ scale: Infinity }, /config.scale.*Infinity/],
    [{ seed: -1 }, /config.seed.*-1/],
    [{ seed: 2 ** 32 }, /config.seed/],
    [{ reshape: 'natural', order: 3 }, /natural.*config.order.*3/],
    [{ reshape: 'natural', projection: { ratio: 0.5 } }, /natural.*config.projection/],
    [{ reshape: 'natural', grouping: 2 }, /natural.*config.grouping.*2/],
  ])('rejects %j', (config, message) => {
    expect(() => resolveConfig(config)).toThrow(ConfigError);
    expect(() => resolveConfig(config)).toThrow(message);
  });

  test('targets are validated', () => {
    expect(() => validateTargets([])).toThrow(/targets/);
    expect(() => validateTargets([{ name: 'a', shape: [0, 2], layer: 0 }])).toThrow(
      /targets\[0\].shape/,
    );
    expect(() =>
      validateTargets([
        { name: 'a', shape: [2, 2], layer: 0 },
        { name: 'a', shape: [2, 2], layer: 0 },
      ]),
    ).toThrow(/targets\[1\].name.*"a"/);
    expect(() => validateTargets([{ name: 'a', shape: [2, 2] }])).toThrow(/targets\[0\].layer/);
    // ΔW files name one tensor per target, and safetensors keeps "__metadata__" for itself.
    expect(() =>
      validateTargets([
        { name: 'a', shape: [2, 2], layer: 0 },
        { name: '__metadata__', shape: [2, 2], layer: 0 },
      ]),
    ).toThrow(/safetensors reserves that key.* for targets\[1\]\.name but received "__metadata__"/);
    expect(validateTargets([{ name: '__metadata', shape: [2, 2], layer: 0 }])).toHaveLength(1);
    expect(() => validateTargets([{ name: 'a', shape: [2, 2], layer: 0, bias: true }])).toThrow(
      /targets\[0\].bias/,
    );
  });

  test('every preset is a valid config on ViT-like targets and maps to the paper’s settings', () => {
    const targets = Array.from({ length: 4 }, (_, t) => ({
      name: `w${t}`,
      shape: [48, 48] as [number, number],
      layer: t >> 1,
    }));
    for (const name of presetNames)
      expect(layoutPlan(presetConfig(name), targets).numParams).toBeGreaterThan(0);
    // LoRA rank r on a d×d weight: 2·d·r per weight.
    expect(layoutPlan(presetConfig('lora'), targets).numParams).toBe(4 * 2 * 48 * 8);
    // Dense: every ΔW entry is a parameter.
    expect(layoutPlan(presetConfig('dense'), targets).numParams).toBe(4 * 48 * 48);
    expect(() => presetConfig('qlora')).toThrow(/preset.*"qlora"/);
  });
});
