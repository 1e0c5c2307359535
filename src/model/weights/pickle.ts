import { WeightsFormatError } from './tensor';

/**
 * A minimal, safe reader for Python pickles (protocols 2-4), enough for PyTorch checkpoints (spec §10). It never
 * imports or runs anything: a GLOBAL only resolves against the caller's whitelist, and "calling" one means running
 * the caller's TypeScript handler for it.
 *
 * Longer than most files here, and kept whole: `unpickleAt` is one opcode loop over one stack and memo, read case by
 * case beside CPython's `Lib/pickle.py` (`_Unpickler.load_*`); split, its cases would lose the state they share.
 */

/** Values a pickle produces. Lists are plain arrays; tuples are frozen arrays (see isTuple). */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | readonly PickleValue[]
  | PickleDict
  | PickleGlobal
  | PickleObject
  | PickleHost;

/** dict or collections.OrderedDict. Insertion order is kept either way, as in Python 3.7+. */
export class PickleDict {
  readonly items = new Map<PickleValue, PickleValue>();
  /** Instance attributes set by BUILD: torch keeps a state dict's `_metadata` here (spec §10.2). */
  readonly attributes = new Map<string, PickleValue>();
  constructor(readonly ordered = false) {}

  get(key: PickleValue): PickleValue | undefined {
    return this.items.get(key);
  }
}

/** A reference to a whitelisted Python global, e.g. `torch.FloatStorage` inside a persistent id. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * What a call of a global that is not whitelisted would have produced, recorded as data and never executed. Only
 * produced with `unknownGlobals: 'record'`, so that a checkpoint can carry e.g. an argparse.Namespace next to its
 * weights; a reader must refuse it wherever it needs the value.
 */
export class PickleObject {
  state: PickleValue | undefined;
  constructor(
    readonly global: PickleGlobal,
    readonly args: readonly PickleValue[],
  ) {}
}

/** Base class for values the caller's handlers create (tensors, storages); extend it so that they can sit in lists,
 * tuples and dicts. */
export abstract class PickleHost {}

/** Handles a call of a whitelisted global: REDUCE (`f(*args)`) or NEWOBJ (`cls.__new__(cls, *args)`). */
export type GlobalHandler = (args: readonly PickleValue[]) => PickleValue;

export interface UnpickleOptions {
  /** Whitelisted globals by 'module.name'. A function is called for REDUCE/NEWOBJ; null means it may be referenced
   * (as torch's storage classes are) but not called. Merged over BUILTIN_GLOBALS. */
  globals?: Readonly<Record<string, GlobalHandler | null>>;
  /** Resolves BINPERSID ids (torch's storages). Without it a persistent id is an error. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** 'error' (default): any other global is refused, naming it. 'record': it becomes a PickleGlobal whose calls yield
   * PickleObjects, for callers that check what they use. */
  unknownGlobals?: 'error' | 'record';
  /** Prefix for error messages, e.g. the file name. */
  source?: string;
}

export function isTuple(value: PickleValue | undefined): value is readonly PickleValue[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

export function isList(value: PickleValue | undefined): value is PickleValue[] {
  return Array.isArray(value) && !Object.isFrozen(value);
}

function tuple(items: PickleValue[]): readonly PickleValue[] {
  return Object.freeze(items);
}

/** Short description of a value for error messages. */
export function describePickleValue(value: PickleValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (value instanceof PickleObject) return `${value.global.qualifiedName}(...)`;
  if (value instanceof PickleGlobal) return value.qualifiedName;
  if (value instanceof PickleDict) return value.ordered ? 'an OrderedDict' : 'a dict';
  if (value instanceof Uint8Array) return `bytes of length ${value.length}`;
  if (value instanceof PickleHost) return value.constructor.name;
  if (isTuple(value)) return `a tuple of ${value.length}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'bigint' ? 'the int' : `the ${typeof value}`} ${String(value)}`;
}

/** Globals safe for any pickle: they only build containers. */
const BUILTIN_GLOBALS: Readonly<Record<string, GlobalHandler | null>> = {
  'collections.OrderedDict': (args) => {
    const dict = new PickleDict(true);
    const source = args[0];
    if (source instanceof PickleDict) for (const [key, value] of source.items) dict.items.set(key, value);
    else if (Array.isArray(source)) {
      for (const pair of source) {
        if (!Array.isArray(pair) || pair.length !== 2) throw new Error('OrderedDict() expects (key, value) pairs');
        dict.items.set(pair[0] as PickleValue, pair[1] as PickleValue);
      }
    }
    return dict;
  },
  // Protocol 2 has no opcode for Python 3 bytes: pickle writes _codecs.encode(latin-1 text, 'latin1').
  '_codecs.encode': (args) => {
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
      throw new Error('_codecs.encode is only accepted as pickle writes bytes: (text, "latin1")');
    }
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  },
};

/** Opcode names as pickletools prints them, for error messages; the unsupported ones are listed too. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x29: 'EMPTY_TUPLE',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x46: 'FLOAT',
  0x47: 'BINFLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x5d: 'EMPTY_LIST',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x75: 'SETITEMS',
  0x7d: 'EMPTY_DICT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const MARK_OBJECT = Symbol('mark');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new Error('string is not valid UTF-8');
  }
}

/** Two's-complement little-endian integer of any width (LONG1/LONG4); a number when it is exactly representable. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  if (((bytes[bytes.length - 1] as number) & 0x80) !== 0) value -= 1n << BigInt(bytes.length * 8);
  return normalizeInt(value);
}

function normalizeInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export interface UnpickleResult {
  value: PickleValue;
  /** Offset just past the STOP opcode: legacy torch files are several pickles back to back (spec §10.3). */
  end: number;
}

/** Unpickle one pickle starting at `offset`. */
export function unpickleAt(input: Uint8Array, offset: number, options: UnpickleOptions = {}): UnpickleResult {
  // A plain Uint8Array over the same memory: on a Node Buffer, slice() would return a view instead of a copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const source = options.source ?? 'pickle';
  let pos = offset;
  let opStart = offset;
  let opcode = 0;
  // Annotated so that TypeScript narrows after `if (...) fail(...)`.
  const fail: (message: string) => never = (message) => {
    throw new WeightsFormatError(`${source}: ${message}`);
  };
  const globals = new Map<string, GlobalHandler | null>(Object.entries(BUILTIN_GLOBALS));
  for (const [key, handler] of Object.entries(options.globals ?? {})) globals.set(key, handler);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const need = (count: number): number => {
    if (count < 0 || pos + count > bytes.length) {
      fail(`truncated pickle: ${opName(opcode)} at byte ${opStart} needs ${count} more bytes, ${bytes.length - pos} left`);
    }
    const at = pos;
    pos += count;
    return at;
  };
  const u8 = (): number => bytes[need(1)] as number;
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const i32 = (): number => view.getInt32(need(4), true);
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true);
    if (value > BigInt(bytes.length)) fail(`${opName(opcode)} at byte ${opStart} claims ${value} bytes; the file is shorter`);
    return Number(value);
  };
  const take = (count: number): Uint8Array => {
    const at = need(count);
    return bytes.subarray(at, at + count);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated pickle: ${opName(opcode)} at byte ${opStart} has no end of line`);
    const text = decodeUtf8(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };

  type StackItem = PickleValue | typeof MARK_OBJECT;
  let stack: StackItem[] = [];
  const metastack: StackItem[][] = [];
  const memo = new Map<number, PickleValue>();

  const pop = (): PickleValue => {
    if (stack.length === 0) fail(`${opName(opcode)} at byte ${opStart} pops an empty stack`);
    const value = stack.pop() as StackItem;
    if (value === MARK_OBJECT) fail(`${opName(opcode)} at byte ${opStart} pops a MARK`);
    return value as PickleValue;
  };
  const top = (): PickleValue => {
    const value = stack[stack.length - 1];
    if (value === undefined || value === MARK_OBJECT) {
      return fail(`${opName(opcode)} at byte ${opStart} needs a value on the stack`);
    }
    return value;
  };
  const popMark = (): PickleValue[] => {
    const items = stack;
    const previous = metastack.pop();
    if (previous === undefined) fail(`${opName(opcode)} at byte ${opStart} has no matching MARK`);
    stack = previous;
    return items as PickleValue[];
  };
  const resolveGlobal = (module: string, name: string): PickleGlobal => {
    const qualified = `${module}.${name}`;
    if (!globals.has(qualified) && options.unknownGlobals !== 'record') {
      fail(
        `refusing to load the Python global ${qualified}: only tensors and plain containers are allowed ` +
          '(nothing was executed)',
      );
    }
    return new PickleGlobal(module, name);
  };
  const call = (callable: PickleValue, args: PickleValue): PickleValue => {
    if (!(callable instanceof PickleGlobal)) {
      return fail(`${opName(opcode)} at byte ${opStart} calls ${describePickleValue(callable)}`);
    }
    if (!isTuple(args)) {
      return fail(`${opName(opcode)} at byte ${opStart}: arguments of ${callable.qualifiedName} are not a tuple`);
    }
    const handler = globals.get(callable.qualifiedName);
    if (handler === undefined) return new PickleObject(callable, args);
    if (handler === null) return fail(`${callable.qualifiedName} may only be referenced, not called`);
    try {
      return handler(args);
    } catch (error) {
      if (error instanceof WeightsFormatError) throw error;
      return fail(`${callable.qualifiedName}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const setItems = (dict: PickleValue, items: PickleValue[]): void => {
    if (!(dict instanceof PickleDict)) {
      return fail(`${opName(opcode)} at byte ${opStart} targets ${describePickleValue(dict)}, not a dict`);
    }
    if (items.length % 2 !== 0) return fail(`${opName(opcode)} at byte ${opStart} has an odd number of items`);
    for (let i = 0; i < items.length; i += 2) dict.items.set(items[i] as PickleValue, items[i + 1] as PickleValue);
  };
  const appendItems = (list: PickleValue, items: PickleValue[]): void => {
    if (!isList(list)) return fail(`${opName(opcode)} at byte ${opStart} targets ${describePickleValue(list)}, not a list`);
    for (const item of items) list.push(item);
  };
  const memoGet = (index: number): PickleValue => {
    const value = memo.get(index);
    if (value === undefined) return fail(`${opName(opcode)} at byte ${opStart} reads memo ${index}, which was never stored`);
    return value;
  };
  const build = (target: PickleValue, state: PickleValue): void => {
    // Python's default __setstate__: a dict updates __dict__; a (dict, slots) pair does both.
    const parts = isTuple(state) && state.length === 2 ? state : [state];
    if (target instanceof PickleObject) {
      target.state = state;
      return;
    }
    if (!(target instanceof PickleDict)) return fail(`BUILD at byte ${opStart} sets state on ${describePickleValue(target)}`);
    for (const part of parts) {
      if (part === null) continue;
      if (!(part instanceof PickleDict)) {
        return fail(`BUILD at byte ${opStart}: state ${describePickleValue(part)} is not a dict`);
      }
      for (const [key, value] of part.items) {
        if (typeof key === 'string') target.attributes.set(key, value);
      }
    }
  };

  if (pos >= bytes.length) fail(`truncated pickle: nothing at byte ${pos}`);
  for (;;) {
    opStart = pos;
    if (pos >= bytes.length) fail(`truncated pickle: no STOP opcode after byte ${offset}`);
    opcode = bytes[pos++] as number;
    switch (opcode) {
      case 0x80: {
        // PROTO
        const protocol = u8();
        if (protocol > 5) fail(`pickle protocol ${protocol} is not supported`);
        break;
      }
      case 0x95: // FRAME: only a read-ahead hint for buffered readers
        u64();
        break;
      case 0x2e: {
        // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        // Python pops the mark itself when the stack above it is empty.
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const length = i32();
        // Decoding is quadratic in the length, so a hostile file could stall the reader; no real value comes close.
        if (length < 0 || length > 4096) fail(`LONG4 at byte ${opStart} has an implausible length ${length}`);
        stack.push(decodeLong(take(length)));
        break;
      }
      case 0x47: // BINFLOAT: the one big-endian field in the format
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(decodeUtf8(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decodeUtf8(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decodeUtf8(take(u64())));
        break;
      case 0x54: {
        // BINSTRING: a Python 2 str; torch.load decodes these as UTF-8
        const length = i32();
        if (length < 0) fail(`BINSTRING at byte ${opStart} has a negative length`);
        stack.push(decodeUtf8(take(length)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(decodeUtf8(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const value = pop();
        appendItems(top(), [value]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x74: {
        // TUPLE. Not `stack.push(tuple(popMark()))`: that would read `stack` before popMark replaces it.
        const items = popMark();
        stack.push(tuple(items));
        break;
      }
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail(`STACK_GLOBAL at byte ${opStart} needs two strings`);
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(call(callable, args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args); the same whitelist applies
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail(`persistent id at byte ${opStart} but no storage loader`);
        stack.push(options.persistentLoad(pid));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      default:
        fail(`unsupported pickle opcode ${opName(opcode)} at byte ${opStart}`);
    }
  }
}

function opName(opcode: number): string {
  const hex = `0x${opcode.toString(16).padStart(2, '0')}`;
  const name = OPCODE_NAMES[opcode];
  return name ? `${name} (${hex})` : hex;
}

/** Unpickle a whole buffer holding one pickle. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PickleValue {
  return unpickleAt(bytes, 0, options).value;
}
