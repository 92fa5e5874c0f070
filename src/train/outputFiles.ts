/** File names of a training run's output folder. */

export const ADAPTER_FILE = 'adapter.safetensors';
export const HEAD_FILE = 'head.safetensors';
export const SUMMARY_FILE = 'summary.json';
/** The training log (jsonlLog.ts), one JSON record per line. */
export const LOG_FILE = 'log.jsonl';
