/**
 * The conformance suite on the cuda engine where a CUDA device exists (SPEC §10b against the
 * float64 reference), plus what is specific to the device plan: launches that do not grow with the
 * number of groups, FWHT sizes past the shared-memory tile, the device-resident calls and
 * bit-identical repeats. Without a device (or without a CUDA build) it prints an explicit skip
 * line and checks the documented errors instead.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import * as tf from '@tensorflow/tfjs';
import { createPlan, type Plan } from '../../src/createPlan';
import type { SuperLoraConfig, Target } from '../../src/config';
import type { CudaEngine } from '../../src/engines/cuda';
import { EngineUnavailableError } from '../../src/engines/engine';
import { engineUnavailableReason, resolveEngineChoice } from '../../src/engines/createEngine';
import { loadAddon } from '../../src/native/loadAddon';
import { buildPlanDescriptor } from '../../src/native/planDescriptor';
import { ModelAdapter } from '../../src/tfjs/modelAdapter';
import { specTolerance } from '../reference/spec64';
import { maxAbsDiff, randomizedViT, randomPixels, TINY } from '../vit/tinyVit';
import { cosUpstream, describeConformance, sinParams } from './suite';

const addon = loadAddon();
const capabilities = addon.capabilities();
const hasDevice = capabilities.cudaCompiled && capabilities.cudaDevices.length > 0;

/**
 * What `action` threw. Jest runs each file in its own vm context while the addon creates its
 * errors in Node's main one, so errors are checked by name and message, not instanceof.
 */
function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}

const smallTargets: Target[] = [
  { name: 'q', shape: [8, 6], layer: 0 },
  { name: 'v', shape: [4, 6], layer: 0 },
];

if (!hasDevice) {
  describe('conformance: cuda engine', () => {
    test('without a CUDA device, engine "cuda" throws the documented error', () => {
      const why = capabilities.cudaCompiled
        ? (capabilities.cudaError ?? 'no reason given')
        : 'this binary was built without CUDA';
      console.log(`skipped: no CUDA device (${why})`);
      const plan = createPlan({ rank: 2 }, smallTargets);
      const error = thrown(() => plan.engine('cuda'));
      expect(error).toBeInstanceOf(EngineUnavailableError); // thrown by TypeScript, this realm
      expect(error.message).toMatch(/^Engine "cuda" is unavailable: engine 'cuda' needs /);
      if (capabilities.cudaCompiled) {
        expect(error.message).toContain(
          `engine 'cuda' needs a CUDA device: ${capabilities.cudaError ?? ''}`,
        );
      } else {
        expect(error.message).toContain('built with CUDA');
      }
      expect(engineUnavailableReason('cuda')).not.toBeNull();
      // auto keeps choosing the CPU engines exactly as before.
      expect(resolveEngineChoice('auto')).toBe(
        engineUnavailableReason('native') === null ? 'native' : 'tfjs',
      );
    });

    test('new CudaNativePlan throws an Error that says why, never crashes', () => {
      if (typeof addon.CudaNativePlan !== 'function') {
        // A build/ left from before the cuda engine: createEngine says so (checked above).
        console.log('skipped: the loaded binary predates CudaNativePlan (npm run build:native)');
        return;
      }
      const plan = createPlan({ rank: 2 }, smallTargets);
      const error = thrown(
        () => new addon.CudaNativePlan(buildPlanDescriptor(plan.layout, plan.tables)),
      );
      expect(error.name).toBe('Error');
      expect(error.message).toMatch(
        capabilities.cudaCompiled ? /needs a CUDA device/ : /compiled without CUDA/,
      );
      expect(thrown(() => addon.cudaMeasureBandwidth(4096, 1)).name).toBe('Error');
    });
  });
} else {
  describeConformance('cuda');

  function cudaEngine(config: SuperLoraConfig, targets: Target[]) {
    const plan = createPlan(config, targets);
    return { plan, engine: plan.engine('cuda') as CudaEngine };
  }

  function expectClose(actual: Float32Array, reference: Float32Array, what: string): void {
    const result = specTolerance(actual, reference);
    if (!result.ok) {
      throw new Error(
        `${what}: entry ${result.at} is ${actual[result.at]} but native gives ${reference[result.at]}`,
      );
    }
  }

  /** ΔW and the gradient of `plan` on cuda within SPEC §10b of the native engine's. */
  async function expectCudaMatchesNative(plan: Plan, what: string): Promise<void> {
    const params = sinParams(plan.numParams);
    const upstream = cosUpstream(plan.deltaSize);
    expectClose(
      await plan.delta(params, { engine: 'cuda' }),
      await plan.delta(params, { engine: 'native' }),
      `${what} ΔW`,
    );
    expectClose(
      await plan.deltaBackward(params, upstream, { engine: 'cuda' }),
      await plan.deltaBackward(params, upstream, { engine: 'native' }),
      `${what} gradient`,
    );
  }

  /** The kernels of the device plan's last call, in launch order. */
  function kernelNames(engine: CudaEngine): string[] {
    return engine
      .cudaPlan()
      .info()
      .kernels.map((kernel) => kernel.name);
  }

  describe('cuda engine: device plan', () => {
    test('auto picks cuda when a device is present', () => {
      expect(resolveEngineChoice('auto')).toBe('cuda');
    });

    test('kernel launches do not depend on the number of groups', () => {
      const targets: Target[] = Array.from({ length: 12 }, (_, t) => ({
        name: `w${t}`,
        shape: [16 + (t % 3) * 8, 24],
        layer: t >> 2,
      }));
      const counts = new Set<string>();
      for (const grouping of [1, 3, 64, 'weight', 'layer'] as const) {
        const { plan, engine } = cudaEngine({ grouping, rank: 3 }, targets);
        const device = engine.cudaPlan();
        const params = sinParams(plan.numParams);
        device.forward(params, new Float32Array(plan.deltaSize));
        const forward = device.info().launches;
        device.backward(params, cosUpstream(plan.deltaSize), new Float32Array(plan.numParams));
        counts.add(`${forward}/${device.info().launches}`);
        plan.dispose();
      }
      expect([...counts]).toEqual(['2/4']);
    });

    test('info().kernels names each launch in order, timed while profiling is on', () => {
      const { plan, engine } = cudaEngine({ grouping: 2, rank: 3, projection: { ratio: 0.5 } }, [
        { name: 'w', shape: [24, 40], layer: 0 },
      ]);
      const device = engine.cudaPlan();
      const params = sinParams(plan.numParams);
      const names = (): string[] => device.info().kernels.map((kernel) => kernel.name);
      device.forward(params, new Float32Array(plan.deltaSize));
      expect(names()).toEqual([
        'IdentityYKernel',
        'GenerateKernel',
        'FwhtTileKernel',
        'FwhtTileKernel (gather)',
        'EmitKernel',
      ]);
      expect(device.info().kernels.every((kernel) => kernel.milliseconds === null)).toBe(true);
      device.setProfiling(true);
      const started = performance.now();
      device.backward(params, cosUpstream(plan.deltaSize), new Float32Array(plan.numParams));
      const wallMs = performance.now() - started;
      expect(names()).toEqual([
        'IdentityYKernel',
        'UpstreamKernel',
        'FwhtTileKernel',
        'FwhtTileKernel (fold)',
        'FinishProjectionGradientKernel',
        'LowRankFactorGradientKernel',
        'LowRankYGradientKernel',
        'IdentityYGradientKernel',
      ]);
      expect(device.info().launches).toBe(8);
      const times = device.info().kernels.map((kernel) => kernel.milliseconds ?? NaN);
      expect(times.every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true);
      expect(times.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(wallMs);
      device.setProfiling(false);
      device.forward(params, new Float32Array(plan.deltaSize));
      expect(device.info().kernels.every((kernel) => kernel.milliseconds === null)).toBe(true);
      expect(() => (device.setProfiling as (value: unknown) => void)('yes')).toThrow(
        'setProfiling expects a boolean',
      );
      plan.dispose();
    });

    // Sizes past the 2^15 shared-memory tile take the column pass; big groups, Kronecker splits,
    // dense cores and the shuffle at sizes the small suite does not reach; native is the reference.
    const big: [string, SuperLoraConfig, Target[]][] = [
      [
        'projection with L = 2^18 (tile and column passes), shuffled',
        { grouping: 1, rank: 4, projection: { ratio: 0.3 }, shuffle: true, seed: 7 },
        [{ name: 'w', shape: [480, 500], layer: 0 }],
      ],
      [
        // L1 = max(nextpow2(m) = 2^14, min(L, 2^7 tiles for one group)): 2^17 with 2^10-float
        // tiles, so the forward gathers ũ[π mod 2^17] and the backward folds 8 blocks; L itself
        // with 2^15 tiles.
        'projection from 1 % of L = 2^20 values (the input transform folded 8 times)',
        { grouping: 1, rank: 4, projection: { ratio: 0.01 }, seed: 3 },
        [{ name: 'w', shape: [1024, 1024], layer: 0 }],
      ],
      [
        // 64 groups need only 2 tiles each for 128 blocks: with 2^10-float tiles L1 = 2^11 < L =
        // 2^12 (2 folds per group); with 2^15-float tiles L fits one tile.
        'projection over 64 groups (the input floor shrinks with the group count)',
        { grouping: 64, rank: 2, projection: { ratio: 0.1 } },
        [{ name: 'w', shape: [512, 512], layer: 0 }],
      ],
      [
        'LoRA on 4 weights of 768 × 768',
        { grouping: 'weight', reshape: 'natural', rank: 8 },
        Array.from({ length: 4 }, (_, t) => ({ name: `w${t}`, shape: [768, 768], layer: t })),
      ],
      [
        'LoNKr: 24 groups, 3 splits, layer-shaped regions',
        { grouping: 24, order: 2, splits: 3, rank: [2, 'full', 3] },
        Array.from({ length: 6 }, (_, t) => ({ name: `w${t}`, shape: [96, 128], layer: t })),
      ],
      [
        'LoRTA: order 4, dense core, projection',
        { grouping: 'layer', order: 4, rank: 3, core: 'dense', projection: { ratio: 0.5 } },
        Array.from({ length: 4 }, (_, t) => ({ name: `w${t}`, shape: [64, 192], layer: t >> 1 })),
      ],
    ];
    for (const [name, config, targets] of big) {
      test(name, async () => {
        const plan = createPlan(config, targets);
        await expectCudaMatchesNative(plan, name);
        plan.dispose();
      });
    }

    test('past the tile, a group that lands as one run of ΔW_all meets it in the L-point FWHT', async () => {
      // L = 2^16 or 2^17 exceeds the tile at 227 and at 4 KiB: for a group whose values land side
      // by side in ΔW_all, the forward's column pass writes factor · y there and the backward's
      // tile pass reads dL/dΔW_all from it; EmitKernel and UpstreamKernel copy for the others
      // (shuffled, or split over non-adjacent targets).
      const square: Target[] = [{ name: 'w', shape: [256, 256], layer: 0 }];
      const interleaved: Target[] = [
        { name: 'a', shape: [192, 192], layer: 0 },
        { name: 'b', shape: [192, 192], layer: 1 },
        { name: 'c', shape: [192, 192], layer: 0 },
      ];
      const cases: [SuperLoraConfig, Target[], boolean][] = [
        [{ grouping: 1, rank: 2, projection: { ratio: 0.1 } }, square, false],
        [{ grouping: 1, rank: 2, projection: { ratio: 0.1 }, shuffle: true }, square, true],
        [{ grouping: 'layer', rank: 2, projection: { ratio: 0.3 } }, interleaved, true],
      ];
      for (const [config, targets, copies] of cases) {
        const { plan, engine } = cudaEngine(config, targets);
        const params = sinParams(plan.numParams);
        const upstream = cosUpstream(plan.deltaSize);
        const delta = engine.deltaInto(params, new Float32Array(plan.deltaSize));
        const names = kernelNames(engine);
        expect(names.slice(0, 6)).toEqual([
          'IdentityYKernel',
          'GenerateKernel',
          'FwhtTileKernel',
          'FwhtColumnKernel',
          'FwhtTileKernel (gather)',
          'FwhtColumnKernel',
        ]);
        expect(names.includes('EmitKernel')).toBe(copies);
        expectClose(delta, await plan.delta(params, { engine: 'native' }), JSON.stringify(config));
        const grad = engine.deltaBackwardInto(params, upstream, new Float32Array(plan.numParams));
        expect(kernelNames(engine).includes('UpstreamKernel')).toBe(copies);
        expectClose(
          grad,
          await plan.deltaBackward(params, upstream, { engine: 'native' }),
          `${JSON.stringify(config)} gradient`,
        );
        plan.dispose();
      }
    });

    test('a Kronecker group that lands as one run of ΔW_all reads dL/dΔW_all in place', async () => {
      // LoKr with a group per weight needs no UpstreamKernel; shuffled, or over non-adjacent
      // targets, its groups read a gathered copy.
      const weights: Target[] = Array.from({ length: 3 }, (_, t) => ({
        name: `w${t}`,
        shape: [24, 36],
        layer: t % 2,
      }));
      const lokr: SuperLoraConfig = {
        grouping: 'weight',
        reshape: 'natural',
        splits: 2,
        rank: ['full', 3],
        scale: -1.5,
      };
      const cases: [SuperLoraConfig, boolean][] = [
        [lokr, false],
        [{ ...lokr, shuffle: true }, true],
        [{ ...lokr, grouping: 'layer' }, true], // layer 0 is w0 and w2
      ];
      for (const [config, upstreamKernel] of cases) {
        const { plan, engine } = cudaEngine(config, weights);
        const params = sinParams(plan.numParams);
        const upstream = cosUpstream(plan.deltaSize);
        const grad = engine.deltaBackwardInto(params, upstream, new Float32Array(plan.numParams));
        const names = kernelNames(engine);
        expect(names.includes('UpstreamKernel')).toBe(upstreamKernel);
        expect(names.includes('KronGradientKernel')).toBe(true);
        expectClose(
          grad,
          await plan.deltaBackward(params, upstream, { engine: 'native' }),
          JSON.stringify(config),
        );
        plan.dispose();
      }
    });

    test('L = 2^23: full register tiles fold 2 blocks (2^15-float tiles), or a clear refusal', async () => {
      // L1 = max(nextpow2(m) = 2^16, min(L, 2^7 tiles for one group)). With 2^15-float tiles
      // that is 2^22, so the backward's fold runs in FwhtTileKernel's register path (staged
      // through shared memory); with smaller tiles two passes cannot reach 2^23 and the plan
      // must say so.
      const plan = createPlan({ grouping: 1, rank: 4, projection: { ratio: 0.01 }, seed: 3 }, [
        { name: 'w', shape: [2048, 2049], layer: 0 },
      ]);
      const probe = cudaEngine({ rank: 1 }, smallTargets);
      const logTile = probe.engine.cudaPlan().info().fwhtLogTile;
      probe.plan.dispose();
      if (logTile < 15) {
        expect(() => plan.engine('cuda')).toThrow(
          `the CUDA engine transforms fastfood sizes up to 2^${2 * logTile} on this device, not 2^23`,
        );
        plan.dispose();
        return;
      }
      await expectCudaMatchesNative(plan, 'L = 2^23');
      plan.dispose();
    });

    test('device-resident calls equal the host-array calls, bit for bit, every time', () => {
      const { plan, engine } = cudaEngine(
        { grouping: 5, order: 3, rank: 2, core: 'dense', projection: { ratio: 0.7 } },
        [{ name: 'w', shape: [40, 72], layer: 0 }],
      );
      const device = engine.cudaPlan();
      const params = sinParams(plan.numParams);
      const upstream = cosUpstream(plan.deltaSize);
      const delta = engine.deltaInto(params, new Float32Array(plan.deltaSize));
      const grad = engine.deltaBackwardInto(params, upstream, new Float32Array(plan.numParams));
      for (let repeat = 0; repeat < 3; repeat++) {
        device.setParams(params);
        device.runForward();
        const again = new Float32Array(plan.deltaSize);
        device.readDelta(again);
        expect(again).toEqual(delta);
        device.setDeltaGradient(upstream);
        device.runBackward();
        const gradAgain = new Float32Array(plan.numParams);
        device.readParamsGradient(gradAgain);
        expect(gradAgain).toEqual(grad);
      }
      plan.dispose();
      expect(() => device.runForward()).toThrow('plan disposed');
    });

    test('SUPERLORA_CUDA_VALUES_PER_THREAD=8 gives the same ΔW bit for bit; other values are refused', () => {
      // The forward's run length is a tuning knob read from the environment when a plan is
      // built, so it runs in a child (see cudaRunLengthChild.js). Each value is still summed in
      // the same order: ΔW must not change by a bit.
      const child = spawnSync(process.execPath, [join(__dirname, 'cudaRunLengthChild.js')], {
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      const report = JSON.parse(child.stdout) as {
        cases: { digest: string; valuesPerThread: number }[][];
        refused: string | null;
      };
      expect(report.cases).toHaveLength(4);
      for (const [unset, four, eight] of report.cases) {
        expect([unset?.valuesPerThread, four?.valuesPerThread, eight?.valuesPerThread]).toEqual([
          4, 4, 8,
        ]);
        expect(four?.digest).toBe(unset?.digest);
        expect(eight?.digest).toBe(unset?.digest);
      }
      expect(report.refused).toContain('SUPERLORA_CUDA_VALUES_PER_THREAD must be 4 or 8, not "6"');
    });

    test('SGD steps of a ViT adapter through tf.customGrad on cuda track the native engine', () => {
      // The path finetune takes: ModelAdapter.withDelta calls the engine inside tfjs's autodiff.
      const vit = randomizedViT(TINY, 4);
      const config: SuperLoraConfig = {
        grouping: 2,
        order: 2,
        splits: 2,
        rank: [2, 'full'],
        projection: { ratio: 0.5 },
        shuffle: true,
      };
      const pixels = randomPixels(vit.config, 2);
      const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
      const train = (engine: 'cuda' | 'native'): Float32Array[] => {
        const adapter = ModelAdapter.create(vit, config, undefined, { engine });
        expect(adapter.engine).toBe(engine);
        adapter.params.assign(tf.tensor1d(sinParams(adapter.numParams)));
        const optimizer = tf.train.sgd(0.5);
        const trajectory: Float32Array[] = [];
        for (let step = 0; step < 4; step++) {
          const loss = optimizer.minimize(
            () =>
              adapter.withDelta((weightOverride) =>
                tf.losses.softmaxCrossEntropy(
                  labels,
                  vit.forward(pixels, { training: true, weightOverride }),
                ),
              ) as tf.Scalar,
            true,
            [adapter.params],
          );
          loss?.dispose();
          trajectory.push(Float32Array.from(adapter.params.dataSync()));
        }
        optimizer.dispose();
        adapter.dispose();
        return trajectory;
      };
      const native = train('native');
      const cuda = train('cuda');
      const start = sinParams(native[0]!.length);
      for (let step = 0; step < native.length; step++) {
        const reference = native[step]!;
        expect(reference.some((value, i) => value !== start[i])).toBe(true); // it trains
        expect(maxAbsDiff(cuda[step]!, reference)).toBeLessThan(1e-5);
      }
      tf.dispose([pixels, labels]);
      vit.dispose();
    });

    // Running out of device memory needs a device of known size: the emulator's can be set.
    const onEmulator = capabilities.cudaDevices.some((device) => /emulator/.test(device.name));
    (onEmulator ? test : test.skip)(
      'a plan too big for the device throws cudaMalloc’s error and frees what it had; dispose frees',
      () => {
        const child = spawnSync(process.execPath, [join(__dirname, 'cudaMemoryChild.js')], {
          encoding: 'utf8',
          env: { ...process.env, SUPERLORA_CUDA_EMULATOR_MEMORY_MIB: '5' },
        });
        expect(child.stderr).toBe('');
        const report = JSON.parse(child.stdout) as {
          tooBig: ({ name: string; message: string } | null)[];
          fits: (number | string)[];
        };
        for (const failure of report.tooBig) {
          expect(failure?.name).toBe('Error');
          expect(failure?.message).toMatch(/^cudaMalloc\(\d+ bytes\) failed: out of memory/);
        }
        // 4.6 MiB of the 5: it would not fit beside anything a failed or disposed plan kept.
        expect(report.fits).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
        expect(report.fits[0]).toBeGreaterThan(4.5 * 2 ** 20);
      },
    );

    test('cudaMeasureBandwidth reports positive rates', () => {
      const result = addon.cudaMeasureBandwidth(64 << 20, 2);
      expect(result.copyBytesPerSecond).toBeGreaterThan(0);
      expect(result.fillBytesPerSecond).toBeGreaterThan(0);
    });
  });
}
