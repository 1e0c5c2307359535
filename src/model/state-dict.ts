/**
 * The twin of PyTorch's `nn.Module.load_state_dict` as torchvision's models use it (torchvision has no module of its
 * own for this): weights are read by their state-dict names (`backbone.body.layer1.0.conv1.weight`), in PyTorch's
 * layout, and a missing or misshapen tensor is reported by its key. Every stage (backbone.ts, fpn.ts, rpn.ts,
 * roi-heads.ts) loads through these; they are apart from the conv helpers (ops/misc.ts) because they are about the
 * checkpoint, not about any layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';

/**
 * Fetches a tensor by its torchvision state-dict name, in PyTorch layout; `undefined` when the checkpoint has no such
 * key (absence is how the architecture is discovered). The tensors stay the caller's: models copy what they keep.
 */
export type WeightLookup = (name: string) => tf.Tensor | undefined;

/** Prepends a module path to a key the way PyTorch does, so an empty prefix gives bare names. */
export function joinKey(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/**
 * A tensor the model cannot do without. A checkpoint is the user's file, so what is wrong with it is a UserError, and
 * the message names the key so a wrong or truncated checkpoint is obvious.
 */
export function requireWeight(lookup: WeightLookup, key: string, shape?: readonly (number | undefined)[]): tf.Tensor {
  const tensor = lookup(key);
  if (tensor === undefined) throw new UserError(`checkpoint has no '${key}'`);
  if (tensor.dtype !== 'float32') {
    throw new UserError(`checkpoint tensor '${key}' is ${tensor.dtype}, expected float32`);
  }
  checkWeightShape(key, tensor.shape, shape);
  return tensor;
}

/** Throws, naming the key, when `actual` is not `expected` (`undefined` entries match any size). */
export function checkWeightShape(key: string, actual: readonly number[], expected?: readonly (number | undefined)[]): void {
  if (expected === undefined) return;
  const matches = actual.length === expected.length && expected.every((size, axis) => size === undefined || actual[axis] === size);
  if (!matches) {
    const wanted = expected.map((size) => (size === undefined ? '*' : String(size))).join(', ');
    throw new UserError(`checkpoint tensor '${key}' has shape [${actual.join(', ')}], expected [${wanted}]`);
  }
}
