import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors';
import { PALETTE } from '../../src/render/instances';
import { loadConfig } from '../../src/settings/config';
import { TRACKER_DEFAULTS } from '../../src/track/tracker';
import { tempDir } from '../support/media';

const DEFAULTS_FILE = join(__dirname, '..', '..', 'config', 'defaults.json');

describe('loadConfig', () => {
  let temp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    temp = tempDir();
  });
  afterAll(() => temp.remove());

  let counter = 0;
  function userFile(contents: unknown): string {
    const path = join(temp.path, `user-${counter++}.json`);
    writeFileSync(path, typeof contents === 'string' ? contents : JSON.stringify(contents));
    return path;
  }

  function failure(run: () => unknown): UserError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      return error as UserError;
    }
    throw new Error('expected a UserError, nothing was thrown');
  }

  test('the shipped defaults load and are exactly config/defaults.json', () => {
    const expected = JSON.parse(readFileSync(DEFAULTS_FILE, 'utf8')) as unknown;
    expect(loadConfig()).toEqual(expected);
  });

  test('the defaults have the documented shape', () => {
    const config = loadConfig();
    expect(typeof config.decode.bufferMegabytes).toBe('number');
    expect(config.encode.crf).toBeGreaterThanOrEqual(0);
    expect(config.encode.crf).toBeLessThanOrEqual(51);
    expect(typeof config.hud.enabled).toBe('boolean');
    expect(config.progress.intervalSeconds).toBeGreaterThan(0);
  });

  test('a user file overriding one key keeps every other default', () => {
    const defaults = JSON.parse(readFileSync(DEFAULTS_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
    const config = loadConfig(userFile({ encode: { crf: 18 } }));
    expect(config.encode.crf).toBe(18);
    expect(config.encode.preset).toBe(defaults.encode?.preset);
    expect(config.decode).toEqual(defaults.decode);
    expect(config.hud).toEqual(defaults.hud);
    expect(config.progress).toEqual(defaults.progress);
  });

  test('overrides do not leak into later loads', () => {
    loadConfig(userFile({ hud: { enabled: false }, encode: { preset: 'slow' } }));
    const expected = JSON.parse(readFileSync(DEFAULTS_FILE, 'utf8')) as unknown;
    expect(loadConfig()).toEqual(expected);
  });

  test('several sections can be overridden at once; an empty file object changes nothing', () => {
    const config = loadConfig(userFile({ hud: { enabled: false }, encode: { preset: 'slow', crf: 0 }, progress: { intervalSeconds: 0.5 } }));
    expect(config.hud.enabled).toBe(false);
    expect(config.encode).toEqual({ preset: 'slow', crf: 0 });
    expect(config.progress.intervalSeconds).toBe(0.5);
    expect(loadConfig(userFile({}))).toEqual(loadConfig());
  });

  test('an unknown section is named', () => {
    const path = userFile({ encoder: { crf: 20 } });
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('unknown section "encoder"');
  });

  test('an unknown key is named with its section', () => {
    const path = userFile({ encode: { crff: 20 } });
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('"encode.crff"');
  });

  test('a wrong type is named with what was expected and what was given', () => {
    const path = userFile({ hud: { enabled: 'yes' } });
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('hud.enabled');
    expect(error.message).toContain('"yes"');
  });

  test.each([52, -1, '23'])('crf %p is refused with the allowed range', (crf) => {
    const path = userFile({ encode: { crf } });
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain('encode.crf');
    expect(error.message).toContain('0 to 51');
  });

  test('crf at the edges of its range (0, 51) is accepted', () => {
    expect(loadConfig(userFile({ encode: { crf: 51 } })).encode.crf).toBe(51);
    expect(loadConfig(userFile({ encode: { crf: 0 } })).encode.crf).toBe(0);
  });

  test('an unknown x264 preset is refused', () => {
    const error = failure(() => loadConfig(userFile({ encode: { preset: 'ludicrous' } })));
    expect(error.message).toContain('encode.preset');
    expect(error.message).toContain('veryfast');
  });

  test.each([0, -5, 'many', null])('bufferMegabytes %p is refused', (value) => {
    const error = failure(() => loadConfig(userFile({ decode: { bufferMegabytes: value } })));
    expect(error.message).toContain('decode.bufferMegabytes');
  });

  test('a section that is not an object is refused', () => {
    const error = failure(() => loadConfig(userFile({ hud: true })));
    expect(error.message).toContain('"hud"');
  });

  test.each([['[1, 2]'], ['"text"'], ['null']])('a top level of %s is refused', (text) => {
    const path = userFile(text);
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('JSON object');
  });

  test('names inherited from Object.prototype are unknown settings, not crashes', () => {
    const section = failure(() => loadConfig(userFile('{ "toString": { "x": 1 } }')));
    expect(section.message).toContain('unknown section "toString"');
    const key = failure(() => loadConfig(userFile('{ "encode": { "constructor": 1 } }')));
    expect(key.message).toContain('"encode.constructor"');
  });

  test('a "__proto__" section is refused and cannot reach Object.prototype', () => {
    const original = Object.prototype.isPrototypeOf;
    try {
      const error = failure(() => loadConfig(userFile('{ "__proto__": { "isPrototypeOf": 1 } }')));
      expect(error.message).toContain('unknown section "__proto__"');
      expect(Object.prototype.isPrototypeOf).toBe(original);
    } finally {
      Object.prototype.isPrototypeOf = original;
    }
  });

  test('invalid JSON names the file', () => {
    const path = userFile('{ "encode": { "crf": 20, } }');
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('not valid JSON');
  });

  test('a missing file is named', () => {
    const path = join(temp.path, 'does-not-exist.json');
    const error = failure(() => loadConfig(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('no such config file');
  });

  test('model, schedule, tracker, render and stream settings: bad values are one clear error each', () => {
    const cases: [unknown, RegExp][] = [
      [{ model: { workers: 0 } }, /model\.workers must be "auto" or a whole number >= 1, got 0/],
      [{ model: { minSize: 'big' } }, /model\.minSize must be "model" or a whole number >= 1/],
      [{ model: { backend: 'cuda' } }, /model\.backend must be one of auto, onnx-cuda, tensorflow-gpu/],
      [{ model: { classes: 'car' } }, /model\.classes must be a list of names/],
      [{ schedule: { maxFps: -1 } }, /schedule\.maxFps must be null or a number > 0/],
      [{ schedule: { every: 1.5 } }, /schedule\.every must be a whole number >= 1/],
      [{ tracker: { iou: 0 } }, /tracker\.iou must be "model" or a number from 0\.01 to 1, got 0/],
      [{ model: { score: 'auto' } }, /model\.score must be "model" or a number from 0 to 1, got "auto"/],
      [{ render: { palette: [[0, 0]] } }, /render\.palette must be a non-empty list of \[r, g, b\] colours/],
      [{ stream: { stallSeconds: 0 } }, /stream\.stallSeconds must be a number > 0/],
    ];
    for (const [contents, message] of cases) expect(failure(() => loadConfig(userFile(contents))).message).toMatch(message);
  });

  test('overrides reach the settings they name and leave the rest', () => {
    const config = loadConfig(userFile({ schedule: { every: 3, maxFps: 5 }, tracker: { maxAge: 10 }, model: { workers: 2, classes: ['car'] } }));
    expect(config.schedule).toEqual({ every: 3, maxFps: 5, maxLatencyMs: loadConfig().schedule.maxLatencyMs });
    expect(config.tracker.maxAge).toBe(10);
    expect(config.tracker.iou).toBe(loadConfig().tracker.iou);
    expect(config.model).toMatchObject({ workers: 2, classes: ['car'], name: 'default' });
  });

  test("the shipped palette is the renderer's own default, so the two cannot drift apart", () => {
    expect(loadConfig().render.palette).toEqual(PALETTE.map((c) => [...c]));
    // The IoU is the model's operating point, or else GENERIC_OPERATING_POINT's, which test/settings/operating-point ties to the tracker's.
    expect(loadConfig().tracker).toMatchObject({ iou: 'model', maxAge: TRACKER_DEFAULTS.maxAge, minHits: TRACKER_DEFAULTS.minHits });
  });
});
