'use strict';
/**
 * What workerThreads.test.ts runs in its Workers, written once for both sides: the test's main
 * thread calls computeDelta from here too, so the Workers and the main thread run the same code on
 * the same inputs. It loads the package as it ships (dist/; npm test builds it first), since a
 * Worker runs plain JavaScript.
 *   workerData { mode: 'compute', config, targets, index }: posts computeDelta's result, exits
 *   workerData { mode: 'loop', config, targets }: posts 'in flight' once its first native call is
 *     queued, then calls again and again until it is terminated
 */
const path = require('path');
const { isMainThread, parentPort, workerData } = require('worker_threads');
const { createPlan } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

/** ΔW and its gradient from the native engine, for inputs fixed by `index`. */
async function computeDelta(config, targets, index) {
  const plan = createPlan(config, targets);
  try {
    const params = Float32Array.from({ length: plan.numParams }, (_, i) => Math.sin(i + 1 + index));
    const upstream = Float32Array.from({ length: plan.deltaSize }, (_, i) =>
      Math.cos(i + 1 - index),
    );
    return {
      delta: await plan.delta(params, { engine: 'native' }),
      gradient: await plan.deltaBackward(params, upstream, { engine: 'native' }),
    };
  } finally {
    plan.dispose();
  }
}

async function callUntilTerminated(config, targets) {
  const plan = createPlan(config, targets);
  const params = new Float32Array(plan.numParams).fill(0.01);
  for (;;) {
    const pending = plan.delta(params, { engine: 'native' });
    parentPort.postMessage('in flight');
    await pending;
  }
}

if (!isMainThread) {
  const { mode, config, targets, index } = workerData;
  if (mode === 'compute') {
    computeDelta(config, targets, index).then((result) => parentPort.postMessage(result));
  } else {
    void callUntilTerminated(config, targets);
  }
}

module.exports = { computeDelta };
