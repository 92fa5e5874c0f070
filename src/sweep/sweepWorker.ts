/**
 * A sweep worker process (forked by `runSweep`): fine-tunes one config per `run` message with the
 * library's `finetune` and replies with its summary. It sets up the tfjs backend once and then
 * serves jobs until its parent disconnects.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../tfjs/backend';
import { finetune } from '../train/finetune';
import { Progress } from '../train/progress';
import type { RunJobMessage, WorkerReply } from './workerProtocol';

/** Jobs run side by side: their step lines would interleave; each run's log.jsonl has them. */
class QuietProgress extends Progress {
  override update(): void {}
  override note(): void {}
}

let backendReady: Promise<unknown> | undefined;

async function runJob(job: RunJobMessage): Promise<WorkerReply> {
  try {
    const { settings } = job;
    backendReady ??= useBackend(settings.backend, { nativeKernels: settings.nativeKernels });
    await backendReady;
    const { backend: _backend, nativeKernels: _nativeKernels, ...training } = settings;
    const summary = await finetune({
      ...training,
      config: job.config,
      outDir: job.outDir,
      // An interrupted config continues from its last checkpoint (--checkpoint-every N); a
      // checkpoint of other settings in the folder is dropped and the config starts over.
      resume: 'if-same-run',
      progress: new QuietProgress(),
    });
    return {
      kind: 'done',
      name: job.name,
      adapterParams: summary.adapterParams,
      headParams: summary.headParams,
      accuracy: summary.accuracy,
      validationAccuracy: summary.validationAccuracy,
      trainSeconds: summary.seconds,
      steps: summary.steps,
      resumedFrom: summary.train.resumedFrom,
      engine: summary.engine,
    };
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    return {
      kind: 'failed',
      name: job.name,
      message: failure.message,
      errorName: failure.name,
      stack: failure.stack,
    };
  }
}

if (process.send !== undefined) {
  tf.enableProdMode();
  process.on('message', (message: RunJobMessage) => {
    if (message?.kind !== 'run') return;
    void runJob(message).then((reply) => process.send?.(reply));
  });
  process.on('disconnect', () => process.exit(0));
}
