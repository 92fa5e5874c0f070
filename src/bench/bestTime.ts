/** The benchmarks' timing loop for calls of microseconds to milliseconds. */

/** Timed rounds; the best is reported. */
const ROUNDS = 9;
/** Each round repeats the call for about this long, so that short calls are timed in bulk. */
const ROUND_MS = 20;

export interface BestTime {
  /** The best round's wall time per call. */
  ms: number;
  /** The best round's CPU time (this process, all threads) per call. */
  cpuMs: number;
}

/**
 * Runs `call` once (the warm-up, which also sizes the rounds), then ROUNDS rounds of as many calls
 * as fill ROUND_MS, and returns the best round's time per call.
 */
export function bestTimePerCall(call: () => void): BestTime {
  const started = performance.now();
  call();
  const once = Math.max(performance.now() - started, 1e-3);
  const reps = Math.max(1, Math.min(2000, Math.round(ROUND_MS / once)));
  let ms = Infinity;
  let cpuMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) call();
    ms = Math.min(ms, (performance.now() - t0) / reps);
    const cpu = process.cpuUsage(cpu0);
    cpuMs = Math.min(cpuMs, (cpu.user + cpu.system) / 1000 / reps);
  }
  return { ms, cpuMs };
}
