import {
  SCHEMA_VERSION,
  serializeFrameRecord,
  validateFrameRecord,
  type FrameRecord,
  type InstanceRecord,
} from '../../src/output/frame-record';
import { encodeMask } from '../../src/output/rle';

const HEIGHT = 6;
const WIDTH = 8;

function boxMask(x1: number, y1: number, x2: number, y2: number): Uint8Array {
  const mask = new Uint8Array(HEIGHT * WIDTH);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) mask[y * WIDTH + x] = 1;
  return mask;
}

function makeInstance(id: number | null, score: number): InstanceRecord {
  return {
    id,
    classId: 3,
    label: 'car',
    score,
    box: [1.5, 1, 4.25, 3.75],
    mask: encodeMask(boxMask(1, 1, 4, 4), HEIGHT, WIDTH),
  };
}

function makeRecord(): FrameRecord {
  return {
    schemaVersion: 1,
    source: 'samples/drive.mp4',
    frame: 12,
    pts: 0.48,
    width: WIDTH,
    height: HEIGHT,
    inferred: true,
    latencyMs: 41.2,
    instances: [makeInstance(3, 0.97), makeInstance(7, 0.5)],
  };
}

/** A structurally loose view for mutating records into invalid shapes. */
type Loose = Record<string, unknown> & { instances: Array<Record<string, unknown>> };

function mutated(change: (record: Loose) => void): unknown {
  const record = structuredClone(makeRecord()) as unknown as Loose;
  change(record);
  return record;
}

function instanceAt(record: Loose, index: number): Record<string, unknown> {
  return record.instances[index];
}

function maskOf(record: Loose, index: number): Record<string, unknown> {
  return instanceAt(record, index).mask as Record<string, unknown>;
}

describe('validateFrameRecord accepts', () => {
  test('the contract example shape', () => {
    expect(SCHEMA_VERSION).toBe(1);
    expect(validateFrameRecord(makeRecord())).toEqual([]);
  });

  test('a frame with nothing detected, carried frames, detect-style null ids, and no latency', () => {
    expect(validateFrameRecord(mutated((r) => (r.instances = [])))).toEqual([]);
    expect(validateFrameRecord(mutated((r) => (r.inferred = false)))).toEqual([]);
    expect(
      validateFrameRecord(
        mutated((r) => {
          instanceAt(r, 0).id = null;
          instanceAt(r, 1).id = null;
        }),
      ),
    ).toEqual([]);
    expect(validateFrameRecord(mutated((r) => delete r.latencyMs))).toEqual([]);
  });

  test('equal scores, negative pts (edit lists) and finite extra fields', () => {
    expect(validateFrameRecord(mutated((r) => (instanceAt(r, 1).score = 0.97)))).toEqual([]);
    expect(validateFrameRecord(mutated((r) => (r.pts = -0.04)))).toEqual([]);
    expect(
      validateFrameRecord(
        mutated((r) => {
          r.model = { name: 'maskrcnn_resnet50_fpn', backend: 'cpu' };
          instanceAt(r, 0).velocity = [1.5, -2];
          instanceAt(r, 0).age = 4;
        }),
      ),
    ).toEqual([]);
  });
});

describe('validateFrameRecord rejects', () => {
  test.each<[string, unknown, RegExp]>([
    ['null', null, /^record: must be a JSON object, got null$/],
    ['an array', [], /^record: must be a JSON object, got an array of 0$/],
    ['a string', '{}', /^record: must be a JSON object, got "\{\}"$/],
  ])('%s instead of an object', (_name, value, message) => {
    const problems = validateFrameRecord(value);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  test.each<[string, (record: Loose) => void, RegExp]>([
    ['another schemaVersion', (r) => (r.schemaVersion = 2), /^schemaVersion: must be 1, got 2$/],
    ['a missing schemaVersion', (r) => delete r.schemaVersion, /^schemaVersion: .*got nothing \(missing\)$/],
    ['an empty source', (r) => (r.source = ''), /^source: must be a non-empty string/],
    ['a numeric source', (r) => (r.source = 5), /^source: .*got 5$/],
    ['a negative frame', (r) => (r.frame = -1), /^frame: must be an integer >= 0, got -1$/],
    ['a fractional frame', (r) => (r.frame = 1.5), /^frame: .*got 1.5$/],
    ['a string frame', (r) => (r.frame = '12'), /^frame: .*got "12"$/],
    ['NaN pts', (r) => (r.pts = Number.NaN), /^pts: must be a finite number of seconds, got NaN$/],
    ['infinite pts', (r) => (r.pts = Number.POSITIVE_INFINITY), /^pts: .*got Infinity$/],
    ['zero width', (r) => (r.width = 0), /^width: must be an integer >= 1, got 0$/],
    ['fractional width', (r) => (r.width = 7.5), /^width: .*got 7.5$/],
    ['negative height', (r) => (r.height = -6), /^height: must be an integer >= 1, got -6$/],
    ['a string inferred', (r) => (r.inferred = 'yes'), /^inferred: must be a boolean, got "yes"$/],
    ['negative latency', (r) => (r.latencyMs = -1), /^latencyMs: when present, must be a finite number >= 0, got -1$/],
    ['NaN latency', (r) => (r.latencyMs = Number.NaN), /^latencyMs: .*got NaN$/],
    ['missing instances', (r) => delete (r as Record<string, unknown>).instances, /^instances: must be an array .*got nothing \(missing\)$/],
    ['an instance that is not an object', (r) => (r.instances[1] = 5 as never), /^instances\[1\]: must be an object, got 5$/],
    ['a fractional id', (r) => (instanceAt(r, 0).id = 1.5), /^instances\[0\]\.id: must be an integer track id or null, got 1.5$/],
    ['a string id', (r) => (instanceAt(r, 0).id = '3'), /^instances\[0\]\.id: .*got "3"$/],
    ['a missing id', (r) => delete instanceAt(r, 0).id, /^instances\[0\]\.id: .*got nothing \(missing\)$/],
    ['a negative classId', (r) => (instanceAt(r, 1).classId = -1), /^instances\[1\]\.classId: must be an integer >= 0, got -1$/],
    ['a fractional classId', (r) => (instanceAt(r, 1).classId = 2.5), /^instances\[1\]\.classId: .*got 2.5$/],
    ['a numeric label', (r) => (instanceAt(r, 0).label = 3), /^instances\[0\]\.label: must be a string, got 3$/],
    ['a NaN score', (r) => (instanceAt(r, 1).score = Number.NaN), /^instances\[1\]\.score: must be a finite number, got NaN$/],
    ['a string score', (r) => (instanceAt(r, 1).score = '0.5'), /^instances\[1\]\.score: .*got "0.5"$/],
    ['a box of three numbers', (r) => (instanceAt(r, 0).box = [1, 2, 3]), /^instances\[0\]\.box: must be \[x1, y1, x2, y2\] .*got \[1, 2, 3\]$/],
    ['a box with NaN', (r) => (instanceAt(r, 0).box = [1, Number.NaN, 3, 4]), /^instances\[0\]\.box: .*got \[1, NaN, 3, 4\]$/],
    ['a box that is an object', (r) => (instanceAt(r, 0).box = { x1: 1 }), /^instances\[0\]\.box: .*got an object$/],
    ['an inverted box', (r) => (instanceAt(r, 0).box = [4, 1, 1, 3]), /^instances\[0\]\.box: corners must satisfy x1 <= x2 and y1 <= y2, got \[4, 1, 1, 3\]$/],
    ['a box upside down', (r) => (instanceAt(r, 0).box = [1, 3, 4, 1]), /^instances\[0\]\.box: corners must satisfy .*got \[1, 3, 4, 1\]$/],
    ['a missing mask', (r) => delete instanceAt(r, 0).mask, /^instances\[0\]\.mask: must be a COCO RLE object/],
    ['a mask size that is not a pair', (r) => (maskOf(r, 0).size = [6]), /^instances\[0\]\.mask\.size: must be \[height, width\] .*got an array of 1$/],
    ['uncompressed counts', (r) => (maskOf(r, 0).counts = [48]), /^instances\[0\]\.mask\.counts: must be a compressed RLE string, got an array of 1$/],
    ['counts with a bad character', (r) => (maskOf(r, 0).counts = '7 3'), /^instances\[0\]\.mask\.counts: malformed RLE counts: character " "/],
    ['counts that do not cover the frame', (r) => (maskOf(r, 0).counts = encodeMask(new Uint8Array(40), 5, 8).counts), /^instances\[0\]\.mask\.counts: RLE runs sum to 40 pixels but size 6 x 8 has 48$/],
    ['scores in ascending order', (r) => (instanceAt(r, 1).score = 0.98), /^instances: must be sorted by descending score, but instances\[1\]\.score 0.98 > instances\[0\]\.score 0.97$/],
    ['a track id used twice', (r) => (instanceAt(r, 1).id = 3), /^instances\[1\]\.id: track id 3 already used by instances\[0\]$/],
    ['a NaN in an instance extra', (r) => (instanceAt(r, 0).velocity = [1, Number.NaN]), /^instances\[0\]\.velocity\[1\]: must be a finite number, got NaN$/],
    ['an Infinity in a frame extra', (r) => (r.stats = { fps: Number.POSITIVE_INFINITY }), /^stats\.fps: must be a finite number, got Infinity$/],
    ['a bigint extra', (r) => (r.bytes = 10n), /^bytes: 10n \(a bigint\) cannot be written as JSON$/],
    ['a function extra', (r) => (r.callback = () => 0), /^callback: a function cannot be written as JSON$/],
  ])('%s', (_name, change, message) => {
    const problems = validateFrameRecord(mutated(change));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  test('a mask whose size is not the frame size, even when its own runs are consistent', () => {
    const record = mutated((r) => (instanceAt(r, 0).mask = encodeMask(new Uint8Array(35), 5, 7)));
    expect(validateFrameRecord(record)).toEqual([
      'instances[0].mask.size: must equal the frame\'s [height, width] = [6, 8], got [5, 7]',
    ]);
  });

  test('a mask one column narrower than the frame', () => {
    const record = mutated((r) => (instanceAt(r, 0).mask = encodeMask(new Uint8Array(42), HEIGHT, WIDTH - 1)));
    expect(validateFrameRecord(record)).toEqual([
      'instances[0].mask.size: must equal the frame\'s [height, width] = [6, 8], got [6, 7]',
    ]);
  });

  test('a transposed size ([width, height]) is caught', () => {
    const record = mutated((r) => (instanceAt(r, 0).mask = encodeMask(new Uint8Array(48), WIDTH, HEIGHT)));
    expect(validateFrameRecord(record)).toEqual([
      'instances[0].mask.size: must equal the frame\'s [height, width] = [6, 8], got [8, 6]',
    ]);
  });

  test('a cyclic extra is reported instead of overflowing the stack', () => {
    const record = mutated((r) => {
      const node: Record<string, unknown> = { name: 'a' };
      node.self = node;
      r.graph = node;
    });
    expect(validateFrameRecord(record)).toEqual(['graph.self: refers back to itself, which JSON cannot represent']);
  });

  test('every problem at once, not just the first', () => {
    const problems = validateFrameRecord(
      mutated((r) => {
        r.frame = -1;
        r.width = 0;
        instanceAt(r, 0).score = Number.NaN;
      }),
    );
    expect(problems).toHaveLength(3);
  });
});

describe('serializeFrameRecord', () => {
  test('writes one line that parses back to a valid, equal record', () => {
    const record = makeRecord();
    const line = serializeFrameRecord(record);
    expect(line).not.toContain('\n');
    const parsed: unknown = JSON.parse(line);
    expect(validateFrameRecord(parsed)).toEqual([]);
    expect(parsed).toEqual(record);
  });

  test('puts keys in the contract order whatever order the object was built in, extras last', () => {
    const instance = makeInstance(null, 0.9);
    const scrambledInstance = {
      age: 2,
      mask: { counts: instance.mask.counts, size: instance.mask.size },
      box: instance.box,
      score: instance.score,
      label: instance.label,
      classId: instance.classId,
      id: instance.id,
    } as InstanceRecord;
    const scrambled = {
      instances: [scrambledInstance],
      velocityUnits: 'px/s',
      latencyMs: 3,
      inferred: false,
      height: HEIGHT,
      width: WIDTH,
      pts: 1,
      frame: 25,
      source: 'cam',
      schemaVersion: 1,
    } as FrameRecord;
    const line = serializeFrameRecord(scrambled);
    const parsed = JSON.parse(line) as Record<string, unknown> & { instances: Array<Record<string, unknown>> };
    expect(Object.keys(parsed)).toEqual([
      'schemaVersion',
      'source',
      'frame',
      'pts',
      'width',
      'height',
      'inferred',
      'latencyMs',
      'instances',
      'velocityUnits',
    ]);
    expect(Object.keys(parsed.instances[0])).toEqual(['id', 'classId', 'label', 'score', 'box', 'mask', 'age']);
    expect(Object.keys(parsed.instances[0].mask as object)).toEqual(['size', 'counts']);
    expect(line.startsWith('{"schemaVersion":1,"source":"cam","frame":25,')).toBe(true);
  });

  test('omits an undefined latencyMs instead of writing null', () => {
    const record = makeRecord();
    record.latencyMs = undefined;
    const line = serializeFrameRecord(record);
    expect(line).not.toContain('latencyMs');
    expect(line).toContain('"inferred":true,"instances":[');
  });

  test('writes null ids and empty instance lists', () => {
    const record = makeRecord();
    record.instances = [makeInstance(null, 0.4)];
    expect(serializeFrameRecord(record)).toContain('"instances":[{"id":null,"classId":3,');
    record.instances = [];
    expect(serializeFrameRecord(record)).toMatch(/"instances":\[\]\}$/);
  });

  test('escapes newlines inside strings, so a line is always one line', () => {
    const record = makeRecord();
    record.source = 'weird\nname.mp4';
    const line = serializeFrameRecord(record);
    expect(line.split('\n')).toHaveLength(1);
    expect((JSON.parse(line) as FrameRecord).source).toBe('weird\nname.mp4');
  });

  test.each<[string, (record: FrameRecord) => void, RegExp]>([
    ['NaN score', (r) => (r.instances[0].score = Number.NaN), /record\.instances\[0\]\.score: must be a finite number, got NaN/],
    ['Infinity in a box', (r) => (r.instances[1].box[2] = Number.POSITIVE_INFINITY), /record\.instances\[1\]\.box\[2\]: .*got Infinity/],
    ['NaN pts', (r) => (r.pts = Number.NaN), /record\.pts: .*got NaN/],
    ['-Infinity latency', (r) => (r.latencyMs = Number.NEGATIVE_INFINITY), /record\.latencyMs: .*got -Infinity/],
    ['NaN deep in an extra', (r) => (r.instances[0].velocity = { dx: [0, Number.NaN] }), /record\.instances\[0\]\.velocity\.dx\[1\]/],
  ])('throws on %s rather than writing null', (_name, change, message) => {
    const record = makeRecord();
    change(record);
    expect(() => serializeFrameRecord(record)).toThrow(message);
    expect(() => serializeFrameRecord(record)).toThrow(/^cannot serialize frame 12 of "samples\/drive.mp4"/);
  });
});
