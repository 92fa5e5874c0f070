/**
 * Runs a grid: every config fine-tuned with the same settings, `jobs` at a time in worker
 * processes, each with its share of the cores (SUPERLORA_NUM_THREADS). Resumable: configs already
 * in `results.jsonl` with the same config and settings are skipped; an interrupted one continues
 * from the last checkpoint in its run folder (with `checkpointEvery` > 0) when that checkpoint was
 * made with the same config and settings, and starts over otherwise. Results are rewritten
 * atomically after every finished config, and the plot at the end.
 */
import { fork, type ChildProcess } from 'child_process';
import { mkdir } from 'fs/promises';
import { availableParallelism } from 'os';
import { join } from 'path';
import { writeFileAtomic } from '../io/atomicWrite';
import { findPackageRoot } from '../native/loadAddon';
import type { GridEntry, SweepGrid } from './grid';
import { writeSweepPlots } from './renderPlot';
import type { SweepResult } from './results';
import { readSweepResults, writeSweepResults } from './resultsFiles';
import { SweepFormatError, SweepJobError } from './sweepErrors';
import { settingsRecord, type SweepSettings } from './sweepSettings';
import type { JobDoneMessage, RunJobMessage, WorkerReply } from './workerProtocol';

export const GRID_FILE = 'grid.json';
export const RUNS_DIR = 'runs';

export interface SweepOptions {
  grid: SweepGrid;
  outDir: string;
  settings: SweepSettings;
  /** Worker processes running at once (default 1). */
  jobs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Run at most this many configs, then stop as if interrupted (for tests). */
  limit?: number;
}

export interface SweepOutcome {
  /** Every row of the results file, in grid order. */
  results: SweepResult[];
  ran: string[];
  skipped: string[];
  seconds: number;
}

/** The compiled worker script: beside this file when running from dist/, else the package's dist/. */
export function workerScriptPath(): string {
  if (__filename.endsWith('.js')) return join(__dirname, 'sweepWorker.js');
  return join(findPackageRoot(), 'dist', 'sweep', 'sweepWorker.js');
}

export function threadsPerJob(jobs: number): number {
  return Math.max(1, Math.floor(availableParallelism() / jobs));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Splits the grid into finished rows and configs to run; a row made otherwise is an error. */
function planResume(
  grid: SweepGrid,
  existing: readonly SweepResult[],
  settings: Record<string, unknown>,
  outDir: string,
): { pending: GridEntry[]; skipped: string[] } {
  const byName = new Map(existing.map((row) => [row.name, row]));
  const pending: GridEntry[] = [];
  const skipped: string[] = [];
  for (const entry of grid.configs) {
    const row = byName.get(entry.name);
    if (row === undefined) {
      pending.push(entry);
      continue;
    }
    if (!sameJson(row.config, entry.config) || !sameJson(row.settings, settings)) {
      throw new SweepFormatError(
        `${join(outDir, 'results.jsonl')} has a row for ${entry.name} made with another config or other settings (${JSON.stringify(row.settings)}); use another --out folder`,
      );
    }
    skipped.push(entry.name);
  }
  return { pending, skipped };
}

class Worker {
  private readonly child: ChildProcess;
  private waiting:
    | { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void; name: string }
    | undefined;

  constructor(threads: number) {
    this.child = fork(workerScriptPath(), [], {
      env: { ...process.env, SUPERLORA_NUM_THREADS: String(threads) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (reply: WorkerReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(reply);
    });
    const lost = (why: string): void => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(new Error(`sweep worker ${why} while running ${waiting.name}`));
    };
    this.child.on('exit', (code, signal) => lost(`exited (code ${code}, signal ${signal})`));
    this.child.on('error', (error) => lost(`failed (${error.message})`));
  }

  run(job: RunJobMessage): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, name: job.name };
      this.child.send(job);
    });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

export async function runSweep(options: SweepOptions): Promise<SweepOutcome> {
  const started = performance.now();
  const { grid, outDir, settings } = options;
  const log = options.log ?? (() => undefined);
  const jobs = Math.max(1, options.jobs ?? 1);
  const settingsRow = settingsRecord(settings);
  await mkdir(join(outDir, RUNS_DIR), { recursive: true });
  const existing = await readSweepResults(outDir);
  const { pending, skipped } = planResume(grid, existing, settingsRow, outDir);
  await writeFileAtomic(join(outDir, GRID_FILE), `${JSON.stringify(grid, null, 2)}\n`);

  const rows = new Map(existing.map((row) => [row.name, row]));
  const ordered = (): SweepResult[] => {
    const inGrid = grid.configs.flatMap((entry) => rows.get(entry.name) ?? []);
    const names = new Set(grid.configs.map((entry) => entry.name));
    return [...inGrid, ...[...rows.values()].filter((row) => !names.has(row.name))];
  };
  let writes = Promise.resolve();
  const save = (): Promise<void> => {
    writes = writes.then(() => writeSweepResults(outDir, ordered()));
    return writes;
  };

  if (skipped.length > 0) log(`skipping ${skipped.length} finished configs`);
  const queue = interleaveFamilies(pending).slice(0, options.limit ?? pending.length);
  const total = queue.length;
  const threads = threadsPerJob(jobs);
  log(
    `${total} configs to run, ${Math.min(jobs, total)} at a time, ${threads} threads each, ${settings.steps} steps`,
  );
  const ran: string[] = [];
  const failures: SweepJobError[] = [];
  let done = 0;

  const work = async (): Promise<void> => {
    const worker = new Worker(threads);
    try {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
        if (failures.length > 0) break;
        const runDir = join(outDir, RUNS_DIR, entry.name);
        const jobStarted = performance.now();
        const reply = await worker.run({
          kind: 'run',
          name: entry.name,
          config: entry.config,
          settings,
          outDir: runDir,
        });
        if (reply.kind === 'failed') {
          failures.push(
            new SweepJobError(
              `config ${entry.name}: ${reply.message}`,
              entry.name,
              reply.errorName,
            ),
          );
          break;
        }
        const row = resultRow(entry, reply, (performance.now() - jobStarted) / 1000, settingsRow);
        rows.set(entry.name, row);
        ran.push(entry.name);
        await save();
        done += 1;
        const percent = (value: number | null): string =>
          value === null ? 'n/a' : `${(100 * value).toFixed(2)}%`;
        const validation =
          row.validationAccuracy === null ? '' : `, validation ${percent(row.validationAccuracy)}`;
        const accuracy = `${percent(row.accuracy)}${validation}`;
        const resumed = reply.resumedFrom > 0 ? ` (resumed at step ${reply.resumedFrom})` : '';
        log(
          `[${done}/${total}] ${entry.name} (${entry.family}): ${row.adapterParams} params, accuracy ${accuracy}, ${row.wallSeconds.toFixed(0)} s${resumed}`,
        );
      }
    } finally {
      worker.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, total) }, work));
  await save();
  const results = ordered();
  await writeSweepPlots(outDir, results, `${grid.name}: accuracy against adapter parameters`, log);
  const [failure] = failures;
  if (failure !== undefined) throw failure;
  return { results, ran, skipped, seconds: (performance.now() - started) / 1000 };
}

/**
 * The run order: the first config of every family, then the second of every family, and so on, so
 * that a sweep stopped early already has points of every family. Results stay in grid order.
 */
export function interleaveFamilies(entries: readonly GridEntry[]): GridEntry[] {
  const seen = new Map<string, number>();
  const rounds = entries.map((entry, index) => {
    const round = seen.get(entry.family) ?? 0;
    seen.set(entry.family, round + 1);
    return { entry, round, index };
  });
  return rounds.sort((a, b) => a.round - b.round || a.index - b.index).map((r) => r.entry);
}

function resultRow(
  entry: GridEntry,
  reply: JobDoneMessage,
  wallSeconds: number,
  settings: Record<string, unknown>,
): SweepResult {
  return {
    name: entry.name,
    family: entry.family,
    config: entry.config,
    adapterParams: reply.adapterParams,
    headParams: reply.headParams,
    accuracy: reply.accuracy,
    validationAccuracy: reply.validationAccuracy,
    wallSeconds,
    trainSeconds: reply.trainSeconds,
    steps: reply.steps,
    engine: reply.engine,
    settings,
  };
}
