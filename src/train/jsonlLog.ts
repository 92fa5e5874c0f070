/**
 * The training log: one JSON object per line. On resume, records past the checkpoint's step are
 * dropped (rewritten atomically) so the log reads as one uninterrupted run.
 */
import { appendFile, readFile } from 'fs/promises';
import { writeFileAtomic } from '../io/atomicWrite';

export type LogRecord = { kind: string; step: number } & Record<string, unknown>;

/** A log line that is not JSON and not the last one; the message names the file and the line. */
export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

export class JsonlLog {
  constructor(readonly path: string) {}

  async append(record: LogRecord): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(record)}\n`);
  }

  /**
   * Every record; none for a missing file. A process killed mid-append can leave a partial last
   * line: it is not a record. Any other line that is not JSON is a LogFormatError.
   */
  async read(): Promise<LogRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const lines = text.split('\n');
    let last = lines.length - 1;
    while (last > 0 && (lines[last] as string).trim().length === 0) last--;
    return lines.flatMap((line, index) => {
      if (line.trim().length === 0) return [];
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        if (index === last) return [];
        throw new LogFormatError(`${this.path} line ${index + 1} is not valid JSON`);
      }
    });
  }

  /** Keeps the records with step < `step` (the steps a checkpoint at `step` has completed). */
  async truncateAfter(step: number): Promise<void> {
    const kept = (await this.read()).filter((record) => record.step < step);
    await writeFileAtomic(this.path, kept.map((record) => `${JSON.stringify(record)}\n`).join(''));
  }
}
