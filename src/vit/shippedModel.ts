import { join } from 'path';
import { findPackageRoot } from '../native/loadAddon';

/**
 * The folder of the base model shipped in the package (a ViT pre-trained here on Fashion-MNIST by
 * `superlora pretrain`; Hugging Face config.json + model.safetensors): `finetune`'s default `--model`.
 */
export function shippedModelDir(): string {
  return join(findPackageRoot(), 'models', 'vit-tiny-fashion-mnist');
}
