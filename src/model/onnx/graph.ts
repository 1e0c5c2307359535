/**
 * A small builder for ONNX graphs, in the spirit of `torch.onnx`'s graph context: each method adds one node and
 * returns the name of its output, so a stage reads as the forward pass it exports. Values are named after the
 * module that makes them (`backbone.body.layer1.0.conv1`), which makes ONNX Runtime's errors and profiles legible.
 */
import { type AttributeValue, type OnnxElementType, ProtoMessage, nodeProto, tensorProto, valueInfoProto } from './proto';

/** ONNX IR version 8 with the default-domain opset 17: RoiAlign's `coordinate_transformation_mode` needs 16. */
export const IR_VERSION = 8;
export const OPSET = 17;

export type Attributes = Readonly<Record<string, AttributeValue>>;

function rawBytes(data: Float32Array | Int32Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class OnnxGraph {
  private readonly nodes: ProtoMessage[] = [];
  private readonly initializers: ProtoMessage[] = [];
  private readonly inputs: ProtoMessage[] = [];
  private readonly outputs: ProtoMessage[] = [];
  private readonly names = new Set<string>();
  private readonly int64Constants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name: `base` itself the first time, then `base_1`, `base_2`, ... */
  private unique(base: string): string {
    let name = base;
    while (this.names.has(name)) name = `${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  input(name: string, type: OnnxElementType, dims: readonly (number | string)[]): string {
    if (this.names.has(name)) throw new Error(`OnnxGraph ${this.name}: '${name}' is defined twice`);
    this.names.add(name);
    this.inputs.push(valueInfoProto(name, type, dims));
    return name;
  }

  /** Marks `value` as a graph output under `name` (an Identity when the names differ). */
  output(value: string, name: string, type: OnnxElementType, dims: readonly (number | string)[]): void {
    const out = value === name ? value : this.node('Identity', [value], {}, name);
    this.outputs.push(valueInfoProto(out, type, dims));
  }

  /** A weight or constant tensor; `data` is referenced, not copied, until the model is serialized. */
  initializer(name: string, dims: readonly number[], data: Float32Array | Int32Array | BigInt64Array | Uint8Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) throw new Error(`OnnxGraph ${this.name}: '${name}' has ${data.length} values for [${dims.join(', ')}]`);
    const type: OnnxElementType =
      data instanceof Float32Array ? 'float' : data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : 'uint8';
    const unique = this.unique(name);
    this.initializers.push(tensorProto(unique, type, dims, rawBytes(data)));
    return unique;
  }

  /** An int64 vector constant (shapes, axes, pads), shared between the nodes that use the same one. */
  int64(values: readonly number[]): string {
    const key = values.join(',');
    const known = this.int64Constants.get(key);
    if (known !== undefined) return known;
    const name = this.initializer(`const_i64[${key}]`, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
    this.int64Constants.set(key, name);
    return name;
  }

  /** A float32 constant of the given shape (a scalar when `dims` is empty). */
  float(name: string, values: readonly number[], dims: readonly number[] = values.length === 1 ? [] : [values.length]): string {
    return this.initializer(name, dims, Float32Array.from(values));
  }

  /** Adds one node with a single output, named `outputName` (made unique) or after the op. */
  node(op: string, inputs: readonly string[], attributes: Attributes = {}, outputName = op): string {
    return this.nodeWithOutputs(op, inputs, 1, attributes, outputName)[0] as string;
  }

  /** Adds one node with `count` outputs, `<outputName>:0`, `<outputName>:1`, ... (the first may be just the name). */
  nodeWithOutputs(op: string, inputs: readonly string[], count: number, attributes: Attributes = {}, outputName = op): string[] {
    const first = this.unique(outputName);
    const outputs = [first, ...Array.from({ length: count - 1 }, (_, i) => this.unique(`${first}:${i + 1}`))];
    this.nodes.push(nodeProto(op, first, inputs, outputs, attributes));
    return outputs;
  }

  /** The serialized `ModelProto` (ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8). */
  serialize(producerVersion: string): Uint8Array {
    const graph = new ProtoMessage();
    this.nodes.forEach((node) => graph.message(1, node));
    graph.string(2, this.name);
    this.initializers.forEach((tensor) => graph.message(5, tensor));
    this.inputs.forEach((input) => graph.message(11, input));
    this.outputs.forEach((output) => graph.message(12, output));
    const opset = new ProtoMessage().string(1, '').varint(2, OPSET);
    const model = new ProtoMessage()
      .varint(1, IR_VERSION)
      .string(2, 'dashseg')
      .string(3, producerVersion)
      .message(7, graph)
      .message(8, opset);
    return model.finish();
  }
}
