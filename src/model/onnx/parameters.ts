/**
 * The state dict as the ONNX graph writer reads it: float32 host arrays by torchvision name, in PyTorch layout
 * (which is ONNX's: NCHW activations, `[out, in, kh, kw]` filters), checked by key and shape as `state-dict.ts`
 * checks them for TF.js.
 */
import { UserError } from '../../errors';
import { checkWeightShape } from '../state-dict';
import { toFloat32, type RawTensor } from '../weights/tensor';

export interface HostTensor {
  data: Float32Array;
  shape: readonly number[];
}

export class Parameters {
  constructor(private readonly tensors: ReadonlyMap<string, RawTensor>) {}

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  /** The tensor under `key` as float32 (float16 and bfloat16 widen exactly), or a UserError naming the key. */
  require(key: string, shape?: readonly (number | undefined)[]): HostTensor {
    const raw = this.tensors.get(key);
    if (raw === undefined) throw new UserError(`checkpoint has no '${key}'`);
    checkWeightShape(key, raw.shape, shape);
    return { data: toFloat32(raw, key), shape: raw.shape };
  }
}
