/**
 * Just enough of the protocol-buffers wire format to write an ONNX `ModelProto` (onnx/onnx.proto, IR version 8).
 * The model is written, never read, so there is no parser, and no protobuf library: a graph is a few hundred nodes
 * and a hundred megabytes of weights, and the weights must not be copied more than once on the way out.
 */

/** Field numbers and enums of onnx.proto that the graph writer uses. */
export const OnnxDataType = Object.freeze({ float: 1, uint8: 2, int32: 6, int64: 7 });
export type OnnxElementType = keyof typeof OnnxDataType;

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/**
 * A message being written: a list of byte chunks whose total is known, so that a parent can prefix it with its
 * length without flattening it. Large payloads (tensor data) are kept as views, never copied, until `finish`.
 */
export class ProtoMessage {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.scratch = [];
  }

  private pushByte(byte: number): void {
    this.scratch.push(byte);
    this.length += 1;
  }

  private pushVarint(value: bigint | number): void {
    // int64 fields carry negatives as their 64-bit two's complement, ten bytes long.
    let rest = BigInt.asUintN(64, BigInt(value));
    while (rest >= 0x80n) {
      this.pushByte(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.pushByte(Number(rest));
  }

  private tag(field: number, wire: number): void {
    this.pushVarint((field << 3) | wire);
  }

  varint(field: number, value: bigint | number): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`varint field ${field}: ${value} is not an integer`);
    this.tag(field, WIRE_VARINT);
    this.pushVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    bytes.forEach((byte) => this.pushByte(byte));
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.pushVarint(data.length);
    this.flushScratch();
    this.chunks.push(data);
    this.length += data.length;
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field: number, message: ProtoMessage): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.pushVarint(message.length);
    this.flushScratch();
    message.flushScratch();
    this.chunks.push(...message.chunks);
    this.length += message.length;
    return this;
  }

  /** The message's bytes in one buffer: the only copy of the payloads. */
  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/** `TensorProto`: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian, as ONNX requires). */
export function tensorProto(name: string, type: OnnxElementType, dims: readonly number[], raw: Uint8Array): ProtoMessage {
  const tensor = new ProtoMessage();
  dims.forEach((dim) => tensor.varint(1, dim));
  tensor.varint(2, OnnxDataType[type]);
  tensor.string(8, name);
  tensor.bytes(9, raw);
  return tensor;
}

/** `ValueInfoProto` of a tensor; a string dimension is symbolic (dynamic), a number fixed. */
export function valueInfoProto(name: string, type: OnnxElementType, dims: readonly (number | string)[]): ProtoMessage {
  const shape = new ProtoMessage();
  for (const dim of dims) {
    const dimension = new ProtoMessage();
    if (typeof dim === 'number') dimension.varint(1, dim);
    else dimension.string(2, dim);
    shape.message(1, dimension);
  }
  const tensorType = new ProtoMessage().varint(1, OnnxDataType[type]).message(2, shape);
  const typeProto = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, name).message(2, typeProto);
}

/** A node attribute's value: which of `AttributeProto`'s fields it goes in follows from the variant. */
export type AttributeValue =
  | { int: number }
  | { ints: readonly number[] }
  | { float: number }
  | { floats: readonly number[] }
  | { string: string };

/** `AttributeProto`: name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20 (FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7). */
export function attributeProto(name: string, value: AttributeValue): ProtoMessage {
  const attribute = new ProtoMessage().string(1, name);
  if ('int' in value) attribute.varint(3, value.int).varint(20, 2);
  else if ('float' in value) attribute.float(2, value.float).varint(20, 1);
  else if ('string' in value) attribute.string(4, value.string).varint(20, 3);
  else if ('floats' in value) {
    value.floats.forEach((f) => attribute.float(7, f));
    attribute.varint(20, 6);
  } else {
    value.ints.forEach((i) => attribute.varint(8, i));
    attribute.varint(20, 7);
  }
  return attribute;
}

/** `NodeProto`: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
export function nodeProto(
  op: string,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Readonly<Record<string, AttributeValue>>,
): ProtoMessage {
  const node = new ProtoMessage();
  inputs.forEach((input) => node.string(1, input));
  outputs.forEach((output) => node.string(2, output));
  node.string(3, name).string(4, op);
  for (const [key, value] of Object.entries(attributes)) node.message(5, attributeProto(key, value));
  return node;
}
