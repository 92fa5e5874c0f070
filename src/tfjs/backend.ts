/**
 * Choosing the tfjs backend: `cpu` (always there), `wasm` (@tensorflow/tfjs-backend-wasm, when
 * installed), `tensorflow` (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, optional peers that
 * bind libtensorflow). `auto` takes tensorflow when installed, else cpu.
 */
import * as tf from '@tensorflow/tfjs';

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

/** Registers and activates a backend; returns the name tfjs reports. */
export async function useBackend(choice: BackendChoice): Promise<string> {
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
  return tf.getBackend();
}
