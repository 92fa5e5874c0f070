import { parseResultsCsv, formatResultsCsv } from '../../src/sweep/resultsCsv';
import { formatResultsJsonl, parseResultsJsonl, type SweepResult } from '../../src/sweep/results';

const rows: SweepResult[] = [
  {
    name: 'lora-r4',
    family: 'LoRA',
    config: { grouping: 'weight', reshape: 'natural', order: 2, rank: 4 },
    adapterParams: 4096,
    headParams: 650,
    accuracy: 0.5231,
    validationAccuracy: 0.5125,
    wallSeconds: 81.25,
    trainSeconds: 70.5,
    steps: 300,
    engine: 'native',
    settings: { dataset: 'mnist', steps: 300, seed: 0 },
  },
  {
    // A family with a comma and quotes, a config with nested arrays and objects, no accuracy.
    name: '2d-g1-ff0.1-r16',
    family: 'SuperLoRA (2D, "reshape") + fastfood',
    config: { grouping: 1, rank: ['full', 3], projection: { ratio: 0.1 }, shuffle: true },
    adapterParams: 1840,
    headParams: 650,
    accuracy: null,
    validationAccuracy: null,
    wallSeconds: 12,
    trainSeconds: 10,
    steps: 3,
    engine: 'tfjs',
    settings: {},
  },
];

describe('results files', () => {
  test('JSONL round trip keeps every field', () => {
    const text = formatResultsJsonl(rows);
    expect(text.split('\n')).toHaveLength(3);
    expect(parseResultsJsonl(text, 'r.jsonl')).toEqual(rows);
  });

  test('CSV round trip keeps every column; the config is a quoted JSON cell', () => {
    const text = formatResultsCsv(rows);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'name,family,config,adapter_params,head_params,accuracy,validation_accuracy,wall_seconds,train_seconds,steps,engine',
    );
    expect(lines[1]).toBe(
      'lora-r4,LoRA,"{""grouping"":""weight"",""reshape"":""natural"",""order"":2,""rank"":4}",4096,650,0.5231,0.5125,81.250,70.500,300,native',
    );
    const back = parseResultsCsv(text, 'r.csv');
    expect(back).toEqual(rows.map((row) => ({ ...row, settings: {} })));
  });

  test('a garbled line is an error naming the file, the line and the field', () => {
    const good = formatResultsJsonl(rows.slice(0, 1));
    expect(() => parseResultsJsonl(`${good}{"name": 1`, 'out/results.jsonl')).toThrow(
      /out\/results\.jsonl line 2 is not valid JSON/,
    );
    const bad = JSON.stringify({ ...rows[0], accuracy: 1.5 });
    expect(() => parseResultsJsonl(`${good}\n${bad}\n`, 'x.jsonl')).toThrow(
      /x\.jsonl line 3: expected null or a number in \[0, 1\] for accuracy but received 1\.5/,
    );
    const badValidation = JSON.stringify({ ...rows[0], validationAccuracy: -0.1 });
    expect(() => parseResultsJsonl(badValidation, 'v.jsonl')).toThrow(
      /v\.jsonl line 1: expected null or a number in \[0, 1\] for validationAccuracy but received -0\.1/,
    );
  });

  test('rows written before validation accuracies existed read as having none', () => {
    const { validationAccuracy: _dropped, ...old } = rows[0] as SweepResult;
    expect(parseResultsJsonl(JSON.stringify(old), 'old.jsonl')).toEqual([
      { ...old, validationAccuracy: null },
    ]);
  });
});
