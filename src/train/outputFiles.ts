/** File names of a fine-tuning run's output folder. */

export const ADAPTER_FILE = 'adapter.safetensors';
export const HEAD_FILE = 'head.safetensors';
export const SUMMARY_FILE = 'summary.json';
