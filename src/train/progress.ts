/**
 * Training progress on the terminal: a redrawn one-line bar on a TTY, plain lines otherwise (CI
 * logs, pipes), at most one plain line every `plainEvery` steps.
 */
export interface ProgressUpdate {
  step: number;
  totalSteps: number;
  loss: number;
  accuracy?: number;
  imagesPerSecond: number;
  secondsLeft: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}:${String(s % 60).padStart(2, '0')}`;
}

export class Progress {
  private lastPlainStep = -Infinity;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEvery = 25,
  ) {}

  private get interactive(): boolean {
    return this.stream.isTTY === true;
  }

  update(update: ProgressUpdate): void {
    const done = update.step + 1;
    const fields = [
      `step ${done}/${update.totalSteps}`,
      `loss ${update.loss.toFixed(4)}`,
      update.accuracy === undefined ? '' : `acc ${(100 * update.accuracy).toFixed(1)}%`,
      `${update.imagesPerSecond.toFixed(0)} img/s`,
      `ETA ${formatDuration(update.secondsLeft)}`,
    ].filter(Boolean);
    if (this.interactive) {
      const width = 24;
      const filled = Math.round((width * done) / update.totalSteps);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      this.stream.write(`\r${bar} ${fields.join('  ')}\x1b[K`);
      if (done === update.totalSteps) this.stream.write('\n');
    } else if (done - this.lastPlainStep >= this.plainEvery || done === update.totalSteps) {
      this.lastPlainStep = done;
      this.stream.write(`${fields.join('  ')}\n`);
    }
  }

  /** A message on its own line (evaluation results, checkpoints), not overwritten by the bar. */
  note(message: string): void {
    this.stream.write(this.interactive ? `\r\x1b[K${message}\n` : `${message}\n`);
  }
}
