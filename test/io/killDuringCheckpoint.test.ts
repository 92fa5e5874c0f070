/**
 * A training run SIGKILLed in the middle of a checkpoint write (its temporary file is there and
 * not yet renamed) resumes from the last complete checkpoint without losing a completed step: the
 * half-written file is ignored (and removed), the checkpoint on disk is the previous one, whole,
 * and the resumed run's log equals an uninterrupted run's. The run is a child process on the
 * compiled package (killDuringCheckpointChild.js, a checkpoint after every step); test/cli/train
 * kills a CLI run between checkpoints, this one aims at the write itself.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

import { readSafetensorsHeader } from '../../src/io/safetensors';

const CHILD = join(__dirname, 'killDuringCheckpointChild.js');
const STEPS = 30;
const TEMPORARY = /^checkpoint\.safetensors\.tmp-/;

interface LogRecord {
  kind: string;
  step: number;
  loss: number;
}

function readLog(runDir: string): LogRecord[] {
  const file = join(runDir, 'log.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return []; // a line cut by the kill
      }
    });
}

function runToEnd(runDir: string): { resumedFrom: number; completedSteps: number } {
  const child = spawnSync(process.execPath, [CHILD, runDir, String(STEPS)], { encoding: 'utf8' });
  const line = child.stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (child.status !== 0 || line === undefined) {
    throw new Error(`the training child failed (exit ${child.status}): ${child.stderr}`);
  }
  return JSON.parse(line.slice('RESULT '.length));
}

/** Starts a run and SIGKILLs it as soon as a checkpoint temporary appears after `afterStep`. */
async function killDuringWrite(runDir: string, afterStep: number): Promise<boolean> {
  mkdirSync(runDir, { recursive: true });
  const child = spawn(process.execPath, [CHILD, runDir, String(STEPS)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const watcher = watch(runDir, (_event, name) => {
    if (name && TEMPORARY.test(name) && readLog(runDir).length > afterStep) {
      child.kill('SIGKILL');
    }
  });
  await exited;
  watcher.close();
  // The kill landed inside the write when the temporary outlived the process.
  return readdirSync(runDir).some((name) => TEMPORARY.test(name));
}

test('SIGKILL during a checkpoint write: resume from the last complete checkpoint, no step lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'superlora-kill-'));
  try {
    const straightDir = join(dir, 'straight');
    expect(runToEnd(straightDir)).toEqual({ resumedFrom: 0, completedSteps: STEPS });
    const straight = readLog(straightDir);

    // The write is short, so the kill may land just after it: try a few times, later each time.
    let killedDir = '';
    let landed = false;
    for (let attempt = 0; attempt < 6 && !landed; attempt++) {
      killedDir = join(dir, `killed-${attempt}`);
      landed = await killDuringWrite(killedDir, 4 + 3 * attempt);
    }
    expect(landed).toBe(true);

    // On disk: the previous checkpoint, whole, one step behind the log (the step whose checkpoint
    // was being written is complete in the log but not saved).
    const header = await readSafetensorsHeader(join(killedDir, 'checkpoint.safetensors'));
    const saved = Number(header.metadata['completedSteps']);
    const logged = readLog(killedDir).filter((record) => record.kind === 'train').length;
    expect(saved).toBe(logged - 1);
    expect(saved).toBeGreaterThanOrEqual(4);

    const resumed = runToEnd(killedDir);
    expect(resumed).toEqual({ resumedFrom: saved, completedSteps: STEPS });
    expect(readdirSync(killedDir).filter((name) => TEMPORARY.test(name))).toEqual([]);
    const log = readLog(killedDir);
    expect(log.map((record) => [record.kind, record.step])).toEqual(
      straight.map((record) => [record.kind, record.step]),
    );
    log.forEach((record, i) => {
      const expected = (straight[i] as LogRecord).loss;
      expect(Math.abs(record.loss - expected)).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(expected)),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

// The child runs the compiled package; `npm test` builds it first (pretest).
beforeAll(() => {
  if (!existsSync(join(__dirname, '..', '..', 'dist', 'train', 'trainLoop.js'))) {
    const built = spawnSync('npm', ['run', 'build:ts'], { cwd: join(__dirname, '..', '..') });
    if (built.status !== 0) throw new Error(`npm run build:ts failed: ${built.stderr}`);
  }
}, 120_000);
