/**
 * Choosing the tfjs backend: `cpu` (always there), `wasm` (@tensorflow/tfjs-backend-wasm, when
 * installed), `tensorflow` (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, optional peers that
 * bind libtensorflow). `auto` takes tensorflow when installed, else cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { registerNativeKernels, unregisterNativeKernels } from './kernels/register';

export type BackendChoice = 'auto' | 'cpu' | 'wasm' | 'tensorflow';
export const backendChoices: readonly BackendChoice[] = ['auto', 'cpu', 'wasm', 'tensorflow'];

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

function tryRequire(name: string): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(name)) return false;
    throw new BackendUnavailableError(
      `${name} is installed but failed to load: ${(error as Error).message}`,
    );
  }
}

export interface UseBackendOptions {
  /** On the cpu backend, use the native kernels (default true). */
  nativeKernels?: boolean;
}

/**
 * Registers and activates a backend; returns the name tfjs reports. On the cpu backend it also
 * registers superlora's native kernels (src/tfjs/kernels/), unless SUPERLORA_NATIVE_KERNELS=0 or
 * the addon does not load, in which case tfjs's own kernels run.
 */
export async function useBackend(
  choice: BackendChoice,
  options: UseBackendOptions = {},
): Promise<string> {
  switch (choice) {
    case 'cpu':
      break;
    case 'wasm':
      if (!tryRequire('@tensorflow/tfjs-backend-wasm')) {
        throw new BackendUnavailableError(
          'Backend "wasm" needs the npm package @tensorflow/tfjs-backend-wasm: npm install @tensorflow/tfjs-backend-wasm@4.22.0',
        );
      }
      break;
    case 'tensorflow':
      if (!tryRequire('@tensorflow/tfjs-node-gpu') && !tryRequire('@tensorflow/tfjs-node')) {
        throw new BackendUnavailableError(
          'Backend "tensorflow" needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (npm install @tensorflow/tfjs-node@4.22.0)',
        );
      }
      break;
    case 'auto':
      return useBackend(
        tryRequire('@tensorflow/tfjs-node-gpu') || tryRequire('@tensorflow/tfjs-node')
          ? 'tensorflow'
          : 'cpu',
        options,
      );
    default:
      throw new TypeError(
        `Expected one of ${backendChoices.join(', ')} for backend but received ${JSON.stringify(choice)}`,
      );
  }
  if (!(await tf.setBackend(choice))) {
    throw new BackendUnavailableError(`tfjs could not initialise the "${choice}" backend`);
  }
  await tf.ready();
  if (tf.getBackend() === 'cpu' && options.nativeKernels !== false) registerNativeKernels();
  else unregisterNativeKernels();
  return tf.getBackend();
}
