/**
 * createViT / resolveViTConfig take camelCase ViTConfig fields only: an unknown key (a typo, or HF's
 * snake_case) would otherwise be ignored and the 768-wide, 12-layer default built silently. The
 * config.json path keeps accepting HF's many extra keys.
 */
import { parseViTConfigJson, resolveViTConfig, ViTFormatError } from '../../src/vit/config';
import { createViT } from '../../src/vit/model';
import { SMALL_GRAY } from './tinyVit';

const SMALL = SMALL_GRAY;

const KNOWN =
  'hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct, layerNormEps, ' +
  'imageSize, patchSize, numChannels, qkvBias, hiddenDropoutProb, attentionProbsDropoutProb, ' +
  'initializerRange, numLabels, id2label';

describe('unknown ViT config keys', () => {
  test('a snake_case key names its camelCase field and parseViTConfigJson', () => {
    // SMALL keeps the test fast where the key is ignored (the default ViT-base takes minutes).
    const call = () => createViT({ ...SMALL, hidden_size: 64 } as never);
    expect(call).toThrow(ViTFormatError);
    expect(call).toThrow(
      `ViT config: Expected only the keys ${KNOWN} but received unknown key hidden_size ` +
        "(did you mean hiddenSize? createViT takes camelCase; config.json's snake_case goes through parseViTConfigJson)",
    );
  });

  test.each([
    ['numHiddenLayrs', 'numHiddenLayers'],
    ['NumLabels', 'numLabels'],
    ['patchsize', 'patchSize'],
  ])('%s: did you mean %s?', (key, meant) => {
    expect(() => resolveViTConfig({ ...SMALL, [key]: 3 } as never)).toThrow(
      `unknown key ${key} (did you mean ${meant}?)`,
    );
  });

  test('a key like none of the fields lists the known ones, without a guess', () => {
    expect(() => resolveViTConfig({ ...SMALL, dropout: 0.1 } as never, 'my.json')).toThrow(
      `my.json: Expected only the keys ${KNOWN} but received unknown key dropout`,
    );
    expect(() => resolveViTConfig({ ...SMALL, dropout: 0.1 } as never)).not.toThrow(/did you mean/);
  });

  test('not an object is refused by name', () => {
    expect(() => resolveViTConfig(null as never)).toThrow(
      'ViT config: Expected an object of ViT config fields but received null',
    );
  });

  test('every known key is accepted and used', () => {
    const config = resolveViTConfig({
      ...SMALL,
      hiddenAct: 'gelu',
      layerNormEps: 1e-6,
      qkvBias: false,
      hiddenDropoutProb: 0.1,
      attentionProbsDropoutProb: 0.2,
      initializerRange: 0.05,
      id2label: ['x', 'y', 'z'],
    });
    expect(config).toMatchObject({ hiddenSize: 16, numHiddenLayers: 2, qkvBias: false });
    const vit = createViT(SMALL);
    expect(vit.config.hiddenSize).toBe(16);
    expect(vit.weights.has('vit.encoder.layer.1.attention.attention.query.weight')).toBe(true);
    expect(vit.weights.has('vit.encoder.layer.2.attention.attention.query.weight')).toBe(false);
    vit.dispose();
  });

  test('a HF config.json keeps its extra keys accepted', () => {
    const config = parseViTConfigJson(
      {
        architectures: ['ViTForImageClassification'],
        model_type: 'vit',
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 32,
        image_size: 8,
        patch_size: 4,
        num_channels: 1,
        encoder_stride: 4,
        torch_dtype: 'float32',
        transformers_version: '4.40.0',
        id2label: { '0': 'a', '1': 'b' },
        label2id: { a: 0, b: 1 },
      },
      'config.json',
    );
    expect(config).toMatchObject({ hiddenSize: 16, numHiddenLayers: 2, numLabels: 2 });
  });
});
