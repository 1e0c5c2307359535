/**
 * The twin of torchvision's `ops/feature_pyramid_network.py` (FeaturePyramidNetwork with LastLevelMaxPool), in NHWC.
 * Levels and channel counts come from the checkpoint's keys and shapes, like the ResNet body's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Conv, disposeConv, loadBiasedConv, runConv } from './ops/misc';
import { type WeightLookup, joinKey } from './state-dict';

export interface FpnOptions {
  /** Where the FPN sits in the state dict. */
  prefix?: string;
  /**
   * Add the 'pool' level (LastLevelMaxPool), as every torchvision R-CNN backbone does. It has no weights, so the
   * checkpoint cannot say.
   */
  lastLevelMaxPool?: boolean;
}

/**
 * Levels by torchvision's names, '0' (stride 4) ... '3' (stride 32), then 'pool' (stride 64). Integer-like keys
 * enumerate first and in numeric order, so iteration order is torchvision's OrderedDict order; a plain object (not a
 * Map) so that `tf.tidy` can return it.
 */
export type FeatureMaps = Record<string, tf.Tensor4D>;

/**
 * A conv with bias, under torchvision 0.13+'s names (`inner_blocks.{i}.0.weight`); checkpoints with the older
 * `inner_blocks.{i}.weight` go through `canonicalStateDict` (architecture.ts) first, as torchvision renames them
 * in its load hooks.
 */
function loadConv(
  lookup: WeightLookup,
  key: string,
  kernel: number,
  inChannels: number | undefined,
  outChannels: number | undefined,
): Conv {
  return loadBiasedConv(lookup, `${key}.0`, kernel, inChannels, outChannels);
}

export class FeaturePyramidNetwork {
  /** Channels of the inputs it expects, C2 first (torchvision's `in_channels_list`). */
  readonly inChannels: number[];
  readonly outChannels: number;
  readonly lastLevelMaxPool: boolean;
  private readonly inner: Conv[];
  private readonly layer: Conv[];
  private disposed = false;

  constructor(lookup: WeightLookup, options: FpnOptions = {}) {
    const prefix = options.prefix ?? 'backbone.fpn';
    this.lastLevelMaxPool = options.lastLevelMaxPool ?? true;
    const exists = (level: number): boolean => lookup(joinKey(prefix, `inner_blocks.${level}.0.weight`)) !== undefined;
    const loaded: Conv[] = [];
    this.inner = [];
    this.layer = [];
    try {
      // Level 0 is required, so an FPN-less checkpoint fails with the first key it lacks. All levels must agree on
      // the output width, which level 0 sets.
      for (let level = 0; level === 0 || exists(level); level += 1) {
        const width = this.inner[0]?.filter.shape[3];
        const inner = loadConv(lookup, joinKey(prefix, `inner_blocks.${level}`), 1, undefined, width);
        loaded.push(inner);
        this.inner.push(inner);
        const out = inner.filter.shape[3];
        const layer = loadConv(lookup, joinKey(prefix, `layer_blocks.${level}`), 3, out, out);
        loaded.push(layer);
        this.layer.push(layer);
      }
    } catch (error) {
      loaded.forEach(disposeConv);
      throw error;
    }
    this.inChannels = this.inner.map((conv) => conv.filter.shape[2]);
    this.outChannels = (this.inner[0] as Conv).filter.shape[3];
  }

  /** The level names `forward` returns, in order. */
  get names(): string[] {
    const names = this.inner.map((_, level) => String(level));
    return this.lastLevelMaxPool ? [...names, 'pool'] : names;
  }

  /**
   * C2..C5 (NHWC) to the pyramid. The sum of the lateral and the upsampled coarser level is taken before the 3x3
   * conv, and that pre-3x3 sum is what travels down. The caller owns the outputs; the inputs are not disposed.
   */
  forward(features: readonly tf.Tensor4D[]): FeatureMaps {
    if (this.disposed) throw new Error('FeaturePyramidNetwork: used after dispose()');
    if (features.length !== this.inner.length) {
      throw new Error(`FeaturePyramidNetwork: expected ${this.inner.length} feature maps, got ${features.length}`);
    }
    features.forEach((feature, level) => {
      if (feature.rank !== 4 || feature.shape[3] !== this.inChannels[level]) {
        throw new Error(
          `FeaturePyramidNetwork: feature ${level} should have ${this.inChannels[level]} channels, ` +
            `got shape [${feature.shape.join(', ')}]`,
        );
      }
    });
    const results: tf.Tensor4D[] = new Array<tf.Tensor4D>(features.length);
    const last = features.length - 1;
    let topDown: tf.Tensor4D | undefined;
    try {
      for (let level = last; level >= 0; level -= 1) {
        const previous = topDown;
        topDown = tf.tidy(() => {
          const lateral = runConv(features[level] as tf.Tensor4D, this.inner[level] as Conv, false);
          if (previous === undefined) return lateral;
          // PyTorch's legacy 'nearest' to an explicit size takes source index floor(dst * in / out), as TF's nearest
          // without half-pixel centres does; for the exact 2x of padded inputs both repeat each pixel 2x2.
          const [height, width] = [lateral.shape[1], lateral.shape[2]];
          return tf.add<tf.Tensor4D>(lateral, tf.image.resizeNearestNeighbor(previous, [height, width], false, false));
        });
        previous?.dispose();
        const current: tf.Tensor4D = topDown;
        results[level] = tf.tidy(() => runConv(current, this.layer[level] as Conv, false));
      }
    } catch (error) {
      topDown?.dispose();
      results.forEach((result) => result.dispose());
      throw error;
    }
    topDown?.dispose();
    const maps: FeatureMaps = {};
    results.forEach((result, level) => {
      maps[String(level)] = result;
    });
    if (this.lastLevelMaxPool) {
      // max_pool2d(kernel 1, stride 2) of the top output: plain subsampling, ceil(H/2) x ceil(W/2).
      const top = results[last] as tf.Tensor4D;
      maps.pool = tf.stridedSlice(top, [0, 0, 0, 0], top.shape, [1, 2, 2, 1]) as tf.Tensor4D;
    }
    return maps;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inner.forEach(disposeConv);
    this.layer.forEach(disposeConv);
  }
}
