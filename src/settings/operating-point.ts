/**
 * The operating point a model runs at (least score, track IoU): the flag, else the config, else the model's own
 * (model.json's `operatingPoint`), else the generic one.
 */
import { describeOperatingPoint, type ModelConfig, type OperatingPoint } from '../model/model-dir';
import { TRACKER_DEFAULTS } from '../track/tracker';

/** For a model with no operating point of its own: the score COCO models are commonly run at, the tracker's IoU. */
export const GENERIC_OPERATING_POINT: Readonly<Required<OperatingPoint>> = Object.freeze({
  score: 0.5,
  trackIou: TRACKER_DEFAULTS.iouThreshold,
});

export interface ResolvedOperatingPoint extends Required<OperatingPoint> {
  /** The settings that came from the model's operating point, for the log; empty when none did. */
  fromModel: OperatingPoint;
}

/**
 * Score threshold and track IoU: each the flag, else the config's number, else (the config says "model", as the
 * shipped one does) the model's operating point, else the generic one.
 */
export function operatingPoint(
  flags: { score?: number | undefined; trackIou?: number | undefined },
  configured: { score: number | 'model'; trackIou: number | 'model' },
  model: Pick<ModelConfig, 'operatingPoint'>,
): ResolvedOperatingPoint {
  const fromModel: OperatingPoint = {};
  const setting = (key: keyof OperatingPoint): number => {
    const flag = flags[key];
    if (flag !== undefined) return flag;
    const value = configured[key];
    if (value !== 'model') return value;
    const own = model.operatingPoint?.[key];
    if (own === undefined) return GENERIC_OPERATING_POINT[key];
    fromModel[key] = own;
    return own;
  };
  return { score: setting('score'), trackIou: setting('trackIou'), fromModel };
}

/** Which model and why, and what it runs at where that is the model's own choice (`own`, see `fromModel`). */
export function withOperatingPoint(reason: string, own: OperatingPoint): string {
  const described = describeOperatingPoint(own);
  return described === '' ? reason : `${reason}; ${described} (its operating point)`;
}
