/** Messages between `runSweep` and its worker processes (`sweepWorker.ts`). */
import type { SuperLoraConfig } from '../config';
import type { SweepSettings } from './sweepSettings';

export interface RunJobMessage {
  kind: 'run';
  name: string;
  config: SuperLoraConfig;
  settings: SweepSettings;
  outDir: string;
}

export interface JobDoneMessage {
  kind: 'done';
  name: string;
  adapterParams: number;
  headParams: number;
  accuracy: number | null;
  validationAccuracy: number | null;
  trainSeconds: number;
  steps: number;
  /** Steps taken from a checkpoint of an interrupted run of this config (0: run from the start). */
  resumedFrom: number;
  engine: string;
}

export interface JobFailedMessage {
  kind: 'failed';
  name: string;
  message: string;
  /** The error's class name, so the parent can tell a user error (bad config) from a bug. */
  errorName: string;
  stack?: string;
}

export type WorkerReply = JobDoneMessage | JobFailedMessage;
