import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_DEFAULT, shippedModelDir } from '../../src/model/model-choice';
import { readModelConfig } from '../../src/model/model-dir';
import { loadConfig } from '../../src/settings/config';
import { modelSelection } from '../../src/settings/model-selection';
import { GENERIC_OPERATING_POINT, operatingPoint } from '../../src/settings/operating-point';
import { TRACKER_DEFAULTS } from '../../src/track/tracker';
import { tempDir } from '../support/media';
import { convertTinyModel } from '../support/tiny-model';

describe("a model's operating point", () => {
  const dir = tempDir();
  const plain = join(dir.path, 'plain');
  const calibrated = join(dir.path, 'calibrated');
  beforeAll(() => {
    convertTinyModel(plain);
    convertTinyModel(calibrated);
    const config = JSON.parse(readFileSync(join(calibrated, 'model.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(calibrated, 'model.json'), JSON.stringify({ ...config, operatingPoint: { score: 0.7, trackIou: 0.2 } }));
  });
  afterAll(() => dir.remove());

  const asShipped = { score: 'model', trackIou: 'model' } as const;
  const own = { operatingPoint: { score: 0.7, trackIou: 0.2 } };

  test('each setting is the flag, else the config, else the model, else the generic one', () => {
    expect(operatingPoint({}, asShipped, own)).toEqual({ score: 0.7, trackIou: 0.2, fromModel: { score: 0.7, trackIou: 0.2 } });
    expect(operatingPoint({ score: 0.4 }, asShipped, own)).toEqual({ score: 0.4, trackIou: 0.2, fromModel: { trackIou: 0.2 } });
    expect(operatingPoint({}, { score: 0.6, trackIou: 'model' }, own)).toEqual({ score: 0.6, trackIou: 0.2, fromModel: { trackIou: 0.2 } });
    expect(operatingPoint({ trackIou: 0.5 }, { score: 'model', trackIou: 0.4 }, own)).toEqual({ score: 0.7, trackIou: 0.5, fromModel: { score: 0.7 } });
    // A model that says nothing, or only half: the rest is what every model ran at before models could say.
    expect(operatingPoint({}, asShipped, {})).toEqual({ score: 0.5, trackIou: 0.3, fromModel: {} });
    expect(operatingPoint({}, asShipped, { operatingPoint: { score: 0.65 } })).toEqual({ score: 0.65, trackIou: 0.3, fromModel: { score: 0.65 } });
    expect(GENERIC_OPERATING_POINT.trackIou).toBe(TRACKER_DEFAULTS.iouThreshold);
  });

  test('annotate and stream run a model at its own point unless told otherwise, and say so', () => {
    const config = loadConfig();
    const selected = modelSelection({ model: calibrated }, config);
    expect(selected?.options.score).toBe(0.7);
    expect(selected?.options.tracker?.iouThreshold).toBe(0.2);
    expect(selected?.reason).toBe(`model directory ${calibrated}; score 0.7, track IoU 0.2 (its operating point)`);

    const flagged = modelSelection({ model: calibrated, score: 0.3, trackIou: 0.5 }, config);
    expect([flagged?.options.score, flagged?.options.tracker?.iouThreshold]).toEqual([0.3, 0.5]);
    expect(flagged?.reason).toBe(`model directory ${calibrated}`);

    const configured = modelSelection({ model: calibrated }, { ...config, model: { ...config.model, score: 0.55 } });
    expect(configured?.options.score).toBe(0.55);
    expect(configured?.reason).toBe(`model directory ${calibrated}; track IoU 0.2 (its operating point)`);

    const generic = modelSelection({ model: plain }, config);
    expect([generic?.options.score, generic?.options.tracker?.iouThreshold]).toEqual([0.5, 0.3]);
    expect(generic?.reason).toBe(`model directory ${plain}`);
  });

  test('the bundled model carries the point it was calibrated at on clips of seeds it was never trained or scored on', () => {
    // docs/experiments.md: chosen on four clips of seeds 9100-9103, the accuracy benchmark's clip being 9002.
    expect(readModelConfig(shippedModelDir(BUNDLED_DEFAULT)).operatingPoint).toEqual({ score: 0.7, trackIou: 0.2 });
  });

  test('a model.json with a bad operating point is refused, naming the setting', () => {
    const config = JSON.parse(readFileSync(join(plain, 'model.json'), 'utf8')) as Record<string, unknown>;
    const refused: [unknown, RegExp][] = [
      [{ score: 1.5 }, /operatingPoint: score must be a number from 0 to 1, got 1\.5/],
      [{ trackIou: 0 }, /operatingPoint: trackIou must be a number from 0\.01 to 1, got 0/],
      [{ score: '0.7' }, /operatingPoint: score must be a number from 0 to 1, got "0\.7"/],
      [{ toString: 0.5 }, /operatingPoint: unknown setting "toString"/],
      [{ iou: 0.2 }, /operatingPoint: unknown setting "iou" \(known: score, trackIou\)/],
      [[0.7], /operatingPoint must be an object/],
    ];
    const bad = join(dir.path, 'bad');
    convertTinyModel(bad);
    for (const [point, message] of refused) {
      writeFileSync(join(bad, 'model.json'), JSON.stringify({ ...config, operatingPoint: point }));
      expect(() => readModelConfig(bad)).toThrow(message);
    }
  });
});
