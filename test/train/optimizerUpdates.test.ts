/**
 * The optimizers' updates as units: two live optimizers for variables of the same name, and
 * refused updates, which must leave every weight and every slot exactly as it was.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../src/train/adamW';
import type { Optimizer } from '../../src/train/optimizer';
import { SgdMomentum } from '../../src/train/sgdMomentum';

const makers: [string, () => Optimizer][] = [
  ['SGD', () => new SgdMomentum({ momentum: 0.9, weightDecay: 0.1 })],
  ['AdamW', () => new AdamW({ weightDecay: 0.1 })],
];

/** Every slot's values by slot and variable name, and how many each slot holds. */
function slotValues(optimizer: Optimizer): Record<string, Record<string, number[]>> {
  return Object.fromEntries(
    [...optimizer.slots].map(([slot, buffers]) => [
      slot,
      Object.fromEntries([...buffers].map(([name, b]) => [name, Array.from(b.dataSync())])),
    ]),
  );
}

function values(variables: Map<string, tf.Variable>): Record<string, number[]> {
  return Object.fromEntries([...variables].map(([name, v]) => [name, Array.from(v.dataSync())]));
}

describe.each(makers)('%s', (label, make) => {
  test('two live optimizers update variables of the same name, each its own, as one alone would', () => {
    const run = (optimizers: number): number[][] => {
      const pairs = Array.from({ length: optimizers }, () => ({
        optimizer: make(),
        variables: new Map([['w', tf.variable(tf.tensor1d([1, -2, 0.5]))]]),
      }));
      for (let step = 1; step <= 3; step++) {
        for (const { optimizer, variables } of pairs) {
          const gradient = tf.tensor1d([0.5 * step, -1, 2]);
          optimizer.apply(variables, new Map([['w', gradient]]), 0.1, step);
          gradient.dispose();
        }
      }
      const result = pairs.map(({ variables }) => Array.from(variables.get('w')!.dataSync()));
      for (const { optimizer, variables } of pairs) {
        // Checkpoints save the slots by variable name: still `w`.
        for (const buffers of optimizer.slots.values()) expect([...buffers.keys()]).toEqual(['w']);
        optimizer.dispose();
        tf.dispose([...variables.values()]);
      }
      return result;
    };
    const [alone] = run(1);
    const [first, second] = run(2);
    expect(first).toEqual(alone);
    expect(second).toEqual(alone);
  });

  test('an optimizer loads saved state while another holds state for the same name', () => {
    const live = make();
    const w = tf.variable(tf.tensor1d([1, 2]));
    const gradient = tf.tensor1d([0.5, -0.5]);
    live.apply(new Map([['w', w]]), new Map([['w', gradient]]), 0.1, 1);
    const saved = new Map(
      [...live.slots].map(([slot, buffers]) => [
        slot,
        new Map(
          [...buffers].map(([name, b]) => [
            name,
            { shape: b.shape, values: b.dataSync() as Float32Array },
          ]),
        ),
      ]),
    );
    const restored = make();
    restored.load(saved);
    expect(slotValues(restored)).toEqual(slotValues(live));
    tf.dispose([w, gradient]);
    live.dispose();
    restored.dispose();
  });

  describe(`a refused ${label} update changes nothing, not even the variables before the bad entry`, () => {
    const unset = undefined as unknown as number;
    const cases: [
      string,
      (t: Record<string, tf.Tensor>) => [Map<string, tf.Tensor>, number, number],
      RegExp,
    ][] = [
      [
        'lr NaN',
        (t) => [new Map([['a', t.a!]]), NaN, 2],
        /learning rate \(lr\) in \[0, ∞\) but received NaN/,
      ],
      [
        'lr undefined',
        (t) => [new Map([['a', t.a!]]), unset, 2],
        /learning rate \(lr\) to be a finite number ≥ 0 but received undefined/,
      ],
      [
        'lr negative',
        (t) => [new Map([['a', t.a!]]), -0.1, 2],
        /learning rate \(lr\) in \[0, ∞\) but received -0.1/,
      ],
      ['lr Infinity', (t) => [new Map([['a', t.a!]]), Infinity, 2], /received Infinity/],
      [
        'lr a string',
        (t) => [new Map([['a', t.a!]]), '0.1' as unknown as number, 2],
        /received "0.1"/,
      ],
      [
        'a [1] gradient for a [5] variable',
        (t) => [new Map([['a', t.one!]]), 0.1, 2],
        /gradient of a to have its variable's shape \[5\] but received \[1\]/,
      ],
      [
        'a [5, 1] gradient for a [5] variable',
        (t) => [new Map([['a', t.column!]]), 0.1, 2],
        /shape \[5\] but received \[5, 1\]/,
      ],
      [
        'an int32 gradient',
        (t) => [new Map([['a', t.int!]]), 0.1, 2],
        /gradient of a to be float32 like its variable but received int32/,
      ],
      [
        'a gradient naming no variable, second',
        (t) => [
          new Map([
            ['c', t.c!],
            ['nope', t.a!],
          ]),
          0.1,
          2,
        ],
        /name a variable \("a", "b", "c"\) but received a gradient for "nope"/,
      ],
      [
        'a second gradient of the wrong shape',
        (t) => [
          new Map([
            ['c', t.c!],
            ['b', t.a!],
          ]),
          0.1,
          2,
        ],
        /gradient of b to have its variable's shape \[2, 3\] but received \[5\]/,
      ],
      [
        'a disposed gradient',
        (t) => [
          new Map([
            ['c', t.c!],
            ['a', t.disposed!],
          ]),
          0.1,
          2,
        ],
        /gradient of a to be a live tensor but it is disposed/,
      ],
    ];
    if (label === 'AdamW') {
      cases.push(
        [
          'step 0',
          (t) => [new Map([['c', t.c!]]), 0.1, 0],
          /AdamW step count ≥ 1 .* but received 0/,
        ],
        ['step 1.5', (t) => [new Map([['c', t.c!]]), 0.1, 1.5], /received 1.5/],
        ['step undefined', (t) => [new Map([['c', t.c!]]), 0.1, unset], /received undefined/],
      );
    }
    test.each(cases)('%s', (_, call, message) => {
      const variables = new Map<string, tf.Variable>([
        ['a', tf.variable(tf.tensor1d([1, 2, 3, 4, 5]))],
        [
          'b',
          tf.variable(
            tf.tensor2d([
              [1, 2, 3],
              [4, 5, 6],
            ]),
          ),
        ],
        ['c', tf.variable(tf.tensor1d([7, 8]))],
      ]);
      const disposed = tf.zeros([5]);
      disposed.dispose();
      const tensors: Record<string, tf.Tensor> = {
        a: tf.fill([5], 0.5),
        b: tf.fill([2, 3], -0.25),
        c: tf.fill([2], 2),
        one: tf.tensor1d([1]),
        column: tf.fill([5, 1], 1),
        int: tf.fill([5], 1, 'int32'),
        disposed,
      };
      const optimizer = make();
      // One good update first, so the slots of a and b exist (and c has none yet).
      optimizer.apply(
        variables,
        new Map([
          ['a', tensors.a!],
          ['b', tensors.b!],
        ]),
        0.1,
        1,
      );
      const weightsBefore = values(variables);
      const slotsBefore = slotValues(optimizer);
      const [gradients, lr, step] = call(tensors);
      const tensorsBefore = tf.memory().numTensors;
      expect(() => optimizer.apply(variables, gradients, lr, step)).toThrow(message);
      expect(values(variables)).toEqual(weightsBefore);
      expect(slotValues(optimizer)).toEqual(slotsBefore);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      // A retry with good arguments then works from the unchanged state.
      optimizer.apply(variables, new Map([['c', tensors.c!]]), 0.1, 2);
      expect(optimizer.slots.values().next().value!.has('c')).toBe(true);
      optimizer.dispose();
      tf.dispose([...variables.values(), ...Object.values(tensors)]);
    });
  });

  test('refuses variables or gradients that are not maps, by name', () => {
    const optimizer = make();
    const w = tf.variable(tf.tensor1d([1]));
    expect(() => optimizer.apply({} as Map<string, tf.Variable>, new Map(), 0.1, 1)).toThrow(
      new RegExp(`${label}'s variables to be a Map of name → tensor`),
    );
    expect(() =>
      optimizer.apply(new Map([['w', w]]), [w] as unknown as Map<string, tf.Tensor>, 0.1, 1),
    ).toThrow(TypeError);
    expect(Array.from(w.dataSync())).toEqual([1]);
    optimizer.dispose();
    w.dispose();
  });

  test('a checkpoint that cannot be restored leaves the current state in place', () => {
    const optimizer = make();
    const w = tf.variable(tf.tensor1d([1, 2]));
    const gradient = tf.tensor1d([1, 1]);
    optimizer.apply(new Map([['w', w]]), new Map([['w', gradient]]), 0.1, 1);
    const before = slotValues(optimizer);
    const tensorsBefore = tf.memory().numTensors;
    const slot = [...optimizer.slots.keys()][0]!;
    const bad = new Map([
      [
        slot,
        new Map([
          ['w', { shape: [2], values: new Float32Array([1, 2]) }],
          ['v', { shape: [3], values: new Float32Array([1, 2]) }], // 2 values for shape [3]
        ]),
      ],
    ]);
    expect(() => optimizer.load(bad)).toThrow();
    expect(slotValues(optimizer)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    optimizer.dispose();
    tf.dispose([w, gradient]);
  });
});
