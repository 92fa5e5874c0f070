/**
 * The training log: one JSON object per line. On resume, records past the checkpoint's step are
 * dropped (rewritten atomically) so the log reads as one uninterrupted run.
 */
import { appendFile, readFile } from 'fs/promises';
import { writeFileAtomic } from '../io/atomicWrite';

export type LogRecord = { kind: string; step: number } & Record<string, unknown>;

export class JsonlLog {
  constructor(readonly path: string) {}

  async append(record: LogRecord): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(record)}\n`);
  }

  async read(): Promise<LogRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    // A process killed mid-append can leave a partial last line: it is not a record.
    return text
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogRecord];
        } catch {
          return [];
        }
      });
  }

  /** Keeps the records with step < `step` (the steps a checkpoint at `step` has completed). */
  async truncateAfter(step: number): Promise<void> {
    const kept = (await this.read()).filter((record) => record.step < step);
    await writeFileAtomic(this.path, kept.map((record) => `${JSON.stringify(record)}\n`).join(''));
  }
}
