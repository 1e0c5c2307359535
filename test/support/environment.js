// jest's node environment gives each test file its own realm, with its own typed-array constructors, while native
// addons (onnxruntime-node's binding) create their arrays in Node's main realm; onnxruntime-common's `instanceof
// Float32Array` checks then fail on the binding's own outputs. Sharing the host's constructors makes an array the
// same kind of array wherever it was made, as it is outside jest.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;
