/**
 * Fuzzes the N-API boundary (DESIGN.md "Native boundary"): with a fixed seed, at least 10 000 calls
 * to the addon's exports and NativePlan methods with wrong types, wrong lengths, NaN / ±Infinity,
 * huge sizes, detached, shared and resizable buffers, hostile getters, disposed plans and bursts of
 * concurrent async calls on one plan (fuzzChild.js says what it does). Every call must return or
 * throw TypeError / RangeError (Error 'plan disposed' on a disposed plan), and the process must
 * survive: the fuzzer runs in a child process, so that a crash is a failure naming the seed and the
 * last call instead of a dead jest worker.
 *
 * FUZZ_SEED and FUZZ_CALLS override the seed and the number of calls (to reproduce or to soak).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { SuperLoraConfig, Target } from '../../src/config';
import { createPlan } from '../../src/createPlan';
import { addonInfo } from '../../src/native/loadAddon';
import { buildPlanDescriptor } from '../../src/native/planDescriptor';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261129);
const ROOT = path.resolve(__dirname, '..', '..');

/** The newest modification time among the C++ sources of the addon. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file));
    else if (/\.(cc|h)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

/**
 * Hostile getters (that detach a buffer the addon already checked) need a binary with the re-checks
 * of native/args.h RequireUnchanged; a binary older than the sources may predate them and would
 * crash, which says nothing about the sources. Such a binary gets the rest of the fuzz only.
 */
function binaryPredatesSources(binary: string): boolean {
  return fs.statSync(binary).mtimeMs < newestSource(path.join(ROOT, 'native'));
}
const CALLS = Number(process.env['FUZZ_CALLS'] ?? 12000);

/** Small plans covering the descriptor's features: projection, shuffle, buckets, cores, full splits. */
const CASES: { config: SuperLoraConfig; targets: Target[] }[] = [
  {
    config: { rank: 2 },
    targets: [
      { name: 'a', shape: [6, 5], layer: 0 },
      { name: 'b', shape: [4, 5], layer: 0 },
    ],
  },
  {
    config: { grouping: 2, order: 3, splits: 2, rank: [2, 'full'], core: 'dense', shuffle: true },
    targets: [{ name: 'w', shape: [9, 7], layer: 0 }],
  },
  {
    config: { grouping: 'layer', order: 2, rank: 3, projection: { ratio: 0.5 }, seed: 7 },
    targets: [
      { name: 'q', shape: [8, 6], layer: 0 },
      { name: 'k', shape: [8, 6], layer: 0 },
      { name: 'v', shape: [3, 6], layer: 1 },
    ],
  },
  {
    config: { grouping: 3, order: 1, rank: ['full'], shuffle: true, projection: { ratio: 0.3 } },
    targets: [{ name: 'w', shape: [10, 10], layer: 0 }],
  },
];

/** JSON with typed arrays tagged, for fuzzChild.js to revive. */
function encode(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return {
      $typed: value.constructor.name,
      values: Array.from(value as unknown as ArrayLike<number>),
    };
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, encode(field)]));
  }
  return value;
}

interface FuzzResult {
  seed: number;
  counts: { calls: number; returned: number; async: number };
  thrown: Record<string, number>;
  violations: { index: number; call: string; error: string }[];
  violationCount: number;
  damaged: string[];
}

test(`N-API boundary fuzz: ${CALLS} calls, seed ${SEED}`, () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'superlora-fuzz-'));
  try {
    const descriptors = CASES.map(({ config, targets }) => {
      const plan = createPlan(config, targets);
      const descriptor = buildPlanDescriptor(plan.layout, plan.tables);
      plan.dispose();
      return encode(descriptor);
    });
    const descriptorsPath = path.join(directory, 'descriptors.json');
    fs.writeFileSync(descriptorsPath, JSON.stringify(descriptors));

    const binary = addonInfo().path;
    const env = { ...process.env };
    if (binaryPredatesSources(binary)) {
      env['FUZZ_NO_HOSTILE'] = '1';
      console.warn(
        `${binary} is older than native/: fuzzing without hostile getters (rebuild to include them)`,
      );
    }
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        path.join(__dirname, 'fuzzChild.js'),
        binary,
        String(SEED),
        String(CALLS),
        descriptorsPath,
      ],
      { encoding: 'utf8', env, maxBuffer: 256 * 1024 * 1024, timeout: 110_000 },
    );
    const lines = child.stdout.split('\n').filter((line) => line.length > 0);
    const resultLine = lines.find((line) => line.startsWith('RESULT '));
    if (child.status !== 0 || child.signal !== null || resultLine === undefined) {
      const lastCall = [...lines].reverse().find((line) => line.startsWith('@'));
      throw new Error(
        `The fuzz child died (exit ${child.status}, signal ${child.signal}${
          child.error ? `, ${child.error.message}` : ''
        }) with seed ${SEED} during call ${lastCall ?? '(none)'}\n` +
          `Reproduce: FUZZ_SEED=${SEED} FUZZ_CALLS=${CALLS} npx jest test/native/fuzz.test.ts\n` +
          `stderr (tail):\n${child.stderr.slice(-4000)}\n` +
          `stdout (tail):\n${child.stdout.slice(child.stdout.lastIndexOf('\n@')).slice(0, 4000)}`,
      );
    }
    const result = JSON.parse(resultLine.slice('RESULT '.length)) as FuzzResult;
    expect(result.counts.calls).toBeGreaterThanOrEqual(CALLS);
    // Enough of the calls got through the checks, and enough were refused, to mean something.
    expect(result.counts.returned).toBeGreaterThan(CALLS / 10);
    expect((result.thrown['TypeError'] ?? 0) + (result.thrown['RangeError'] ?? 0)).toBeGreaterThan(
      CALLS / 10,
    );
    expect(result.counts.async).toBeGreaterThan(500);
    if (result.violationCount > 0) {
      throw new Error(
        `${result.violationCount} calls broke the boundary contract (seed ${SEED}); the first:\n` +
          result.violations.map((v) => `  #${v.index} ${v.call}\n    -> ${v.error}`).join('\n'),
      );
    }
    expect(result.damaged).toEqual([]);
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}, 120_000);
