/**
 * `superlora info`: version, the native binary loaded and from where, CPU features, threads, CUDA,
 * and whether the native tfjs kernels run (with their output pool's limit).
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { engineNames } from '../../engines/engine';
import { engineUnavailableReason } from '../../engines/createEngine';
import { AddonLoadError, addonInfo, loadAddon } from '../../native/loadAddon';
import {
  AddonEnvironmentError,
  POOL_SPIN_ENV,
  POOL_THREADS_ENV,
} from '../../native/addonEnvironment';
import { outputPoolStats } from '../../tfjs/kernels/outputPool';
import { nativeKernelsStatus, registerNativeKernels } from '../../tfjs/kernels/register';
import { version } from '../../version';

/**
 * The binary loaded, its capabilities and pool; or, when none loads, why (the loader's message:
 * every binary tried and every fix), which is what this command is run to find out.
 */
function nativeReport() {
  try {
    const addon = loadAddon();
    return {
      binary: addonInfo(),
      capabilities: addon.capabilities(),
      pool: { threads: addon.getThreads(), spinMicroseconds: addon.getSpinMicroseconds() },
      loadError: null,
    };
  } catch (error) {
    if (!(error instanceof AddonLoadError)) throw error;
    const loadError = { message: error.message, requestedBy: error.requestedBy ?? null };
    return { binary: null, capabilities: null, pool: null, loadError };
  }
}

async function report() {
  await tf.ready();
  const native = nativeReport();
  const unloaded =
    native.loadError === null ? undefined : 'no native binary loads here (see "native binary")';
  // As training would: the cpu backend's kernels, and the pool their outputs are recycled through.
  const nativeKernels =
    tf.getBackend() === 'cpu' && unloaded === undefined && registerNativeKernels();
  return {
    version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    ...native,
    tfjs: {
      version: tf.version.tfjs,
      backend: tf.getBackend(),
      /** null when the native kernels run on the cpu backend, else why not. */
      nativeKernelsUnavailable: nativeKernels
        ? null
        : (unloaded ?? nativeKernelsStatus() ?? 'not the cpu backend'),
      outputPoolBytes: outputPoolStats().limitBytes,
    },
    engines: Object.fromEntries(
      engineNames.map((name) => [
        name,
        name !== 'tfjs' && unloaded !== undefined
          ? unloaded
          : (engineUnavailableReason(name) ?? 'available'),
      ]),
    ),
  };
}

type Report = Awaited<ReturnType<typeof report>>;

/** The lines about the binary that loaded: its build, the CPU it found, threads and CUDA. */
function binaryLines(
  binary: NonNullable<Report['binary']>,
  capabilities: NonNullable<Report['capabilities']>,
  pool: NonNullable<Report['pool']>,
): [string, string][] {
  const { cpu } = capabilities;
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
  const devices = capabilities.cudaDevices
    .map(
      (d) =>
        `#${d.index} ${d.name} (sm ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, ${d.multiProcessorCount} SMs)`,
    )
    .join('; ');
  const cuda = !capabilities.cudaCompiled
    ? 'not compiled in (CPU build)'
    : devices || `compiled in, no device (${capabilities.cudaError ?? 'none found'})`;
  return [
    ['native binary', `${binary.path} (${binary.source})`],
    ...(binary.skipped ?? []).map((attempt): [string, string] => [
      'skipped',
      `${attempt.candidate}: ${attempt.reason}`,
    ]),
    [
      'build',
      `${capabilities.build.variant}, ${capabilities.build.compiler}, N-API ${capabilities.build.napiVersion}`,
    ],
    ['cpu', `${cpu.brand || cpu.vendor || cpu.arch}`],
    ['cpu features', features || 'baseline'],
    ['threads', String(capabilities.threads)],
    [
      'kernel pool',
      `${pool.threads} thread${pool.threads === 1 ? '' : 's'} (${POOL_THREADS_ENV}), spinning ${pool.spinMicroseconds} µs before sleeping (${POOL_SPIN_ENV})`,
    ],
    ['cuda', cuda],
  ];
}

function print(info: Report): void {
  const { binary, capabilities, pool, loadError } = info;
  const lines: [string, string][] = [
    ['superlora', info.version],
    ['node', `${info.node} ${info.platform}`],
    ...(binary !== null && capabilities !== null && pool !== null
      ? binaryLines(binary, capabilities, pool)
      : (loadError?.message ?? '')
          .split('\n')
          .map((line, i): [string, string] => [i === 0 ? 'native binary' : '', line])),
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
      // A binary chosen by SUPERLORA_BINARY / SUPERLORA_BUILD that does not load fails every
      // other command too; without one, the package runs on tfjs.
      const requestedBy = info.loadError?.requestedBy;
      if (requestedBy) {
        throw new AddonEnvironmentError(
          `${requestedBy} names a binary that does not load (see "native binary" above)`,
        );
      }
    });
}
