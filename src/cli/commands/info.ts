/**
 * `superlora info`: version, the native binary loaded and from where, CPU features, threads, CUDA,
 * and whether the native tfjs kernels run (with their output pool's limit).
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { engineNames } from '../../engines/engine';
import { engineUnavailableReason } from '../../engines/createEngine';
import { addonInfo, loadAddon } from '../../native/loadAddon';
import { POOL_SPIN_ENV, POOL_THREADS_ENV } from '../../native/addonEnvironment';
import { outputPoolStats } from '../../tfjs/kernels/outputPool';
import { nativeKernelsStatus, registerNativeKernels } from '../../tfjs/kernels/register';
import { version } from '../../version';

async function report() {
  await tf.ready();
  // As training would: the cpu backend's kernels, and the pool their outputs are recycled through.
  const nativeKernels = tf.getBackend() === 'cpu' && registerNativeKernels();
  const addon = loadAddon();
  const binary = addonInfo();
  const capabilities = addon.capabilities();
  return {
    version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    binary,
    capabilities,
    pool: { threads: addon.getThreads(), spinMicroseconds: addon.getSpinMicroseconds() },
    tfjs: {
      version: tf.version.tfjs,
      backend: tf.getBackend(),
      /** null when the native kernels run on the cpu backend, else why not. */
      nativeKernelsUnavailable: nativeKernels
        ? null
        : (nativeKernelsStatus() ?? 'not the cpu backend'),
      outputPoolBytes: outputPoolStats().limitBytes,
    },
    engines: Object.fromEntries(
      engineNames.map((name) => [name, engineUnavailableReason(name) ?? 'available']),
    ),
  };
}

function print(info: Awaited<ReturnType<typeof report>>): void {
  const { cpu } = info.capabilities;
  const features = (
    [
      'sse41',
      'avx',
      'avx2',
      'fma',
      'f16c',
      'avx512f',
      'avx512bw',
      'avx512vl',
      'avx512vnni',
    ] as const
  )
    .filter((flag) => cpu[flag])
    .join(' ');
  const devices = info.capabilities.cudaDevices
    .map(
      (d) =>
        `#${d.index} ${d.name} (sm ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, ${d.multiProcessorCount} SMs)`,
    )
    .join('; ');
  const cuda = !info.capabilities.cudaCompiled
    ? 'not compiled in (CPU build)'
    : devices || `compiled in, no device (${info.capabilities.cudaError ?? 'none found'})`;
  const lines: [string, string][] = [
    ['superlora', info.version],
    ['node', `${info.node} ${info.platform}`],
    ['native binary', `${info.binary.path} (${info.binary.source})`],
    ...(info.binary.skipped ?? []).map((attempt): [string, string] => [
      'skipped',
      `${attempt.candidate}: ${attempt.reason}`,
    ]),
    [
      'build',
      `${info.capabilities.build.variant}, ${info.capabilities.build.compiler}, N-API ${info.capabilities.build.napiVersion}`,
    ],
    ['cpu', `${cpu.brand || cpu.vendor || cpu.arch}`],
    ['cpu features', features || 'baseline'],
    ['threads', String(info.capabilities.threads)],
    [
      'kernel pool',
      `${info.pool.threads} thread${info.pool.threads === 1 ? '' : 's'} (${POOL_THREADS_ENV}), spinning ${info.pool.spinMicroseconds} µs before sleeping (${POOL_SPIN_ENV})`,
    ],
    ['cuda', cuda],
    ['tfjs', `${info.tfjs.version}, backend ${info.tfjs.backend}`],
    [
      'tfjs kernels',
      info.tfjs.nativeKernelsUnavailable !== null
        ? `tfjs's own: ${info.tfjs.nativeKernelsUnavailable}`
        : info.tfjs.outputPoolBytes === 0
          ? 'native, outputs not recycled (SUPERLORA_OUTPUT_POOL_MB=0)'
          : `native, outputs recycled through a pool of up to ${info.tfjs.outputPoolBytes / 2 ** 20} MiB (SUPERLORA_OUTPUT_POOL_MB)`,
    ],
    ...Object.entries(info.engines).map(([name, state]): [string, string] => [
      `engine ${name}`,
      state,
    ]),
  ];
  for (const [key, value] of lines) console.log(`${key.padEnd(14)} ${value}`);
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description(
      'show the version, the native binary in use, CPU features, threads and CUDA devices',
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const info = await report();
      if (options.json) console.log(JSON.stringify(info, null, 2));
      else print(info);
    });
}
