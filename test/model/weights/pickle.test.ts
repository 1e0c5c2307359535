import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isList, isTuple, PickleDict, PickleGlobal, PickleObject, PickleValue, unpickle, unpickleAt } from '../../../src/model/weights/pickle';
import { WeightsFormatError } from '../../../src/model/weights/tensor';

// proto2.pkl and proto4.pkl are written by Python's pickle in tools/fixtures/make_checkpoints.py.
const fixture = (name: string): Buffer => readFileSync(join(__dirname, '..', '..', 'fixtures', 'checkpoints', name));

/** Assemble a pickle from opcodes: strings are taken as latin-1 bytes, numbers as single bytes. */
function pickle(...parts: (string | number | Uint8Array)[]): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') bytes.push(part);
    else if (typeof part === 'string') for (const char of part) bytes.push(char.charCodeAt(0));
    else bytes.push(...part);
  }
  return Uint8Array.from(bytes);
}

const le = (value: number, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  return out;
};

function dict(value: PickleValue): PickleDict {
  expect(value).toBeInstanceOf(PickleDict);
  return value as PickleDict;
}

describe('unpickle: what Python writes', () => {
  it('protocol 2: ints of every width, floats, text, tuples, shared objects and batched containers', () => {
    const root = dict(unpickle(fixture('proto2.pkl')));
    expect(root.get('ints')).toEqual([0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2n ** 63n, -(2n ** 70n)]);
    expect(root.get('floats')).toEqual([0.5, -1e300, Infinity]);
    expect(root.get('text')).toEqual(['', 'ascii', 'ünïcödé ✓']);
    const nested = root.get('tuple');
    expect(isTuple(nested)).toBe(true);
    expect(nested).toEqual([1, [2, 3], []]);
    expect(root.get('flags')).toEqual([true, false, null]);
    const shared = root.get('shared') as PickleValue[];
    expect(shared[0]).toBe(shared[1]);
    // Python's pickle splits containers into MARK ... SETITEMS/APPENDS batches of 1000.
    const many = dict(root.get('many') as PickleValue);
    expect(many.items.size).toBe(1200);
    expect([many.get('k0000'), many.get('k0999'), many.get('k1000'), many.get('k1199')]).toEqual([0, 999, 1000, 1199]);
    expect(root.get('long_list')).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    // Protocol 2 spells bytes as _codecs.encode(text, 'latin1').
    expect(root.get('data')).toEqual(Uint8Array.from([0, 1, 255]));
  });

  it('protocol 4: FRAME, MEMOIZE, STACK_GLOBAL, short strings and bytes', () => {
    const root = dict(unpickle(fixture('proto4.pkl')));
    const ordered = dict(root.get('od') as PickleValue);
    expect(ordered.ordered).toBe(true);
    expect([...ordered.items]).toEqual([
      ['a', 1],
      ['b', [1.5, 'x']],
    ]);
    expect(root.get('data')).toEqual(Uint8Array.from([0, 1, 255]));
    expect(root.get('big_text')).toBe('y'.repeat(300));
    expect(root.get('tuple3')).toEqual([1, 2, 3]);
  });
});

describe('unpickle: opcodes Python 3 rarely writes', () => {
  it('Python 2 strings, 8-byte lengths, LONG4, BINFLOAT, POP, DUP and the long memo', () => {
    const value = unpickle(
      pickle(
        0x80, 2, ']', // EMPTY_LIST
        'U', 3, 'abc', 'a', // SHORT_BINSTRING, APPEND
        'T', le(2, 4), 'hi', 'a', // BINSTRING
        0x8d, le(3, 8), 'xyz', 'a', // BINUNICODE8
        'B', le(2, 4), 0xde, 0xad, 'a', // BINBYTES
        0x8e, le(1, 8), 0x07, 'a', // BINBYTES8
        0x8b, le(9, 4), le(0, 8), 0x01, 'a', // LONG4: 2^64
        'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 'a', // BINFLOAT 1.5, big-endian
        'N', 'r', le(70000, 4), '0', // NONE, LONG_BINPUT 70000, POP
        'j', le(70000, 4), 'a', // LONG_BINGET 70000
        '2', 0x86, // DUP the list, TUPLE2
        '.',
      ),
    ) as readonly PickleValue[];
    expect(value[0]).toBe(value[1]);
    expect(value[0]).toEqual(['abc', 'hi', 'xyz', Uint8Array.from([0xde, 0xad]), Uint8Array.from([7]), 2n ** 64n, 1.5, null]);
  });

  it('BUILD on an OrderedDict keeps the state as attributes, as torch does with _metadata', () => {
    const value = unpickle(
      pickle(
        0x80, 2, 'c', 'collections\nOrderedDict\n', 'q', 0, ')', 'R', // OrderedDict(), memo 0
        'X', le(1, 4), 'w', 'K', 1, 's', // ['w'] = 1
        '}', 'X', le(9, 4), '_metadata', 'h', 0, ')', 'R', 's', // {'_metadata': OrderedDict()}
        'b', '.', // BUILD
      ),
    );
    const state = dict(value);
    expect([...state.items]).toEqual([['w', 1]]);
    expect(state.attributes.get('_metadata')).toBeInstanceOf(PickleDict);
  });

  it('returns where a pickle ends, for streams of several', () => {
    const stream = pickle(0x80, 2, 'K', 1, '.', 0x80, 2, 'K', 2, '.');
    const first = unpickleAt(stream, 0);
    expect(first).toEqual({ value: 1, end: 5 });
    expect(unpickleAt(stream, first.end).value).toBe(2);
  });

  it('passes persistent ids to the loader and whitelisted calls to their handlers', () => {
    const seen: PickleValue[] = [];
    const bytes = pickle(
      0x80, 2, 'c', 'torch\nFloatStorage\n', 'X', le(1, 4), '0', 0x86, 'Q', // persistent id (FloatStorage, '0')
      'c', 'my\nwrap\n', 'K', 4, 0x85, 'R', // my.wrap(4)
      0x86, '.',
    );
    const value = unpickle(bytes, {
      globals: { 'torch.FloatStorage': null, 'my.wrap': (args) => ['wrapped', ...args] },
      persistentLoad: (pid) => {
        seen.push(pid);
        return 'storage';
      },
    });
    expect(seen).toHaveLength(1);
    expect((seen[0] as PickleValue[])[0]).toEqual(new PickleGlobal('torch', 'FloatStorage'));
    expect(value).toEqual(['storage', ['wrapped', 4]]);
  });
});

describe('unpickle: safety and errors', () => {
  const osSystem = pickle(0x80, 2, 'c', 'os\nsystem\n', 'X', le(10, 4), 'touch /tmp', 0x85, 'R', '.');

  it('refuses a global that is not whitelisted, naming it', () => {
    expect(() => unpickle(osSystem)).toThrow(WeightsFormatError);
    expect(() => unpickle(osSystem, { source: 'evil.pkl' })).toThrow(
      /^evil\.pkl: refusing to load the Python global os\.system: only tensors and plain containers are allowed \(nothing was executed\)$/,
    );
    const stackGlobal = pickle(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.');
    expect(() => unpickle(stackGlobal)).toThrow(/builtins\.eval/);
  });

  it('in record mode turns the call into inert data', () => {
    const value = unpickle(osSystem, { unknownGlobals: 'record' });
    expect(value).toBeInstanceOf(PickleObject);
    expect((value as PickleObject).global.qualifiedName).toBe('os.system');
    expect((value as PickleObject).args).toEqual(['touch /tmp']);
  });

  it('a whitelisted reference cannot be called', () => {
    const call = pickle(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.');
    expect(() => unpickle(call, { globals: { 'torch.FloatStorage': null } })).toThrow(/torch\.FloatStorage may only be referenced, not called/);
  });

  it('reports truncation, unknown opcodes and broken structure', () => {
    const full = fixture('proto2.pkl');
    expect(() => unpickle(full.subarray(0, 1000))).toThrow(/truncated pickle/);
    expect(() => unpickle(pickle(0x80, 2, 'X', le(100, 4), 'short'))).toThrow(/truncated pickle: BINUNICODE \(0x58\) at byte 2 needs 100 more bytes, 5 left/);
    expect(() => unpickle(pickle(0x80, 2, 'I', '1\n', '.'))).toThrow(/unsupported pickle opcode INT \(0x49\) at byte 2/);
    expect(() => unpickle(pickle(0x80, 2, 'h', 3, '.'))).toThrow(/reads memo 3, which was never stored/);
    expect(() => unpickle(pickle(0x80, 2, 'N', 'Q', '.'))).toThrow(/persistent id at byte 3 but no storage loader/);
    expect(() => unpickle(pickle(0x80, 2, 'K', 1, 'K', 2, 'a', '.'))).toThrow(/APPEND \(0x61\) at byte 6 targets the number 1, not a list/);
    expect(() => unpickle(pickle(0x80, 2, 'e', '.'))).toThrow(/no matching MARK/);
    expect(() => unpickle(pickle(0x80, 9, '.'))).toThrow(/pickle protocol 9 is not supported/);
    expect(isList(unpickle(pickle(0x80, 2, ']', '.')))).toBe(true);
  });
});
