/** The ViT: a Hugging Face-compatible ViTForImageClassification in tfjs. */
export { ViTFormatError, resolveViTConfig, parseViTConfigJson, vitConfigToJson } from './config';
export type { ViTConfig } from './config';
export { ViT, createViT, type ViTForwardOptions, type ViTLinearTarget } from './model';
export { loadViT, saveViT, CONFIG_FILE, WEIGHTS_FILE, type LoadViTOptions } from './io';
export { vitWeightSpecs, type WeightSpec } from './weights';
export { shippedModelDir } from './shippedModel';
