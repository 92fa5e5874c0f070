import { join } from 'path';
import { findPackageRoot } from '../native/loadAddon';

/** The base model shipped with the package (pre-trained here on Fashion-MNIST by `superlora pretrain`). */
export function shippedModelDir(): string {
  return join(findPackageRoot(), 'models', 'vit-tiny-fashion-mnist');
}
