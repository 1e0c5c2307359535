import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../src/errors';
import {
  BACKEND_ORDER,
  BACKEND_SPECS,
  type BackendChoice,
  type MachineProbe,
  describeBackend,
  parseBackendName,
  selectBackend,
} from '../../src/model/backend';

const GPU_PKG = '@tensorflow/tfjs-node-gpu';
const NODE_PKG = '@tensorflow/tfjs-node';
const WASM_PKG = '@tensorflow/tfjs-backend-wasm';
const ONNX_PKG = 'onnxruntime-node';
/** What the TF.js fallbacks see first when onnxruntime-node is simulated absent. */
const ONNX_MISSING = `${ONNX_PKG} not installed`;

/** This machine as the GPU backends see it, or a simulated one. */
function machine(has: { cuda?: boolean; gpu?: boolean } = {}): MachineProbe {
  return { cudaProviderInstalled: () => has.cuda ?? false, gpuDevicePresent: () => has.gpu ?? false };
}

/** Whether a package is really resolvable here (the native ones are not: their install needs internet). */
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** What Node throws for a package that is not installed. */
function notFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find module '${pkg}'\nRequire stack:\n- /app/src/model/backend.js`), {
    code: 'MODULE_NOT_FOUND',
  });
}

/**
 * Stands in for tfjs-node's backend: the real CPU kernels under the name 'tensorflow', plus the fields tfjs-node's
 * NodeJSKernelBackend has, so selection and the model code go through exactly the paths they would with libtensorflow.
 */
class FakeNodeBackend extends MathBackendCPU {
  readonly binding: { TF_Version: string; isUsingGpuDevice: () => boolean };
  constructor(
    readonly isGPUPackage: boolean,
    readonly isUsingGpuDevice: boolean,
  ) {
    super();
    this.binding = { TF_Version: '2.9.1', isUsingGpuDevice: () => isUsingGpuDevice };
  }
}

/** Registers a fake 'tensorflow' backend the way requiring tfjs-node(-gpu) does; returns the module it exports. */
function registerFakeTensorflow(factory: () => tf.KernelBackend | Promise<tf.KernelBackend>): unknown {
  if (tf.findBackendFactory('tensorflow') != null) {
    // Requiring the package again hits the require cache and registers nothing.
    return { version: { 'tfjs-node': '4.22.0' } };
  }
  tf.registerBackend('tensorflow', factory, 3);
  if (tf.getKernelsForBackend('tensorflow').length === 0) {
    for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });
  }
  return { version: { 'tfjs-node': '4.22.0' } };
}

type Behaviour = 'absent' | 'broken-binding' | 'broken-dlopen' | { factory: () => tf.KernelBackend };

/**
 * A loader that simulates the native TF.js packages and passes everything else to the real `require`.
 * onnxruntime-node is absent unless `onnx` says 'real' (the package as installed) or 'broken' (loads, exports nothing
 * usable), so the TF.js fallbacks are tested as a machine without it sees them.
 */
function fakeLoader(packages: { gpu?: Behaviour; node?: Behaviour; wasm?: 'absent'; onnx?: 'real' | 'broken' }): jest.Mock<unknown, [string]> {
  const simulate = (pkg: string, behaviour: Behaviour | undefined): unknown => {
    if (behaviour === undefined || behaviour === 'absent') throw notFound(pkg);
    if (behaviour === 'broken-binding') {
      // What a tfjs-node whose install script npm skipped looks like: the JS is there, the binding is not.
      throw Object.assign(
        new Error(
          `Cannot find module '/app/node_modules/${pkg}/lib/napi-v8/tfjs_binding.node'\n` +
            `Require stack:\n- /app/node_modules/${pkg}/dist/index.js`,
        ),
        { code: 'MODULE_NOT_FOUND' },
      );
    }
    if (behaviour === 'broken-dlopen') {
      throw Object.assign(new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'), {
        code: 'ERR_DLOPEN_FAILED',
      });
    }
    return registerFakeTensorflow(behaviour.factory);
  };
  return jest.fn((pkg: string): unknown => {
    if (pkg === GPU_PKG) return simulate(pkg, packages.gpu);
    if (pkg === NODE_PKG) return simulate(pkg, packages.node);
    if (pkg === WASM_PKG && packages.wasm === 'absent') throw notFound(pkg);
    if (pkg === ONNX_PKG && packages.onnx === undefined) throw notFound(pkg);
    if (pkg === ONNX_PKG && packages.onnx === 'broken') return { env: {} };
    // The real thing for everything else, through jest's registry so it shares this file's tfjs-core.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg);
  });
}

/** A small piece of the model's work: a 3x3 conv with bias and ReLU, then a matMul, as flat numbers. */
function tinyModelStep(): { conv: Float32Array; dense: Float32Array } {
  return tf.tidy(() => {
    const image = tf.tensor4d(Array.from({ length: 1 * 6 * 5 * 3 }, (_, i) => Math.sin(i) * 2), [1, 6, 5, 3]);
    const filter = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.7)), [3, 3, 3, 4]);
    const bias = tf.tensor1d([0.1, -0.2, 0.3, -0.4]);
    const conv = tf.relu(tf.add(tf.conv2d(image, filter, 1, 'same'), bias));
    const dense = tf.matMul(tf.reshape(conv, [30, 4]), tf.tensor2d([1, 2, -1, 0.5, 3, -2, 0, 1], [4, 2]));
    return { conv: conv.dataSync() as Float32Array, dense: dense.dataSync() as Float32Array };
  });
}

let reference: { conv: Float32Array; dense: Float32Array };

beforeAll(async () => {
  // tfjs's test mode: silences its console banners and makes the engine check every kernel for leaked tensors.
  tf.env().set('IS_TEST', true);
  expect(await tf.setBackend('cpu')).toBe(true);
  reference = tinyModelStep();
  // Guard against a degenerate reference (all zeros would make every comparison pass).
  expect(reference.conv.some((v) => v > 0.5)).toBe(true);
});

function expectSameAsCpu(result: { conv: Float32Array; dense: Float32Array }, tolerance: number): void {
  expect(result.conv.length).toBe(reference.conv.length);
  expect(result.dense.length).toBe(reference.dense.length);
  result.conv.forEach((v, i) => expect(Math.abs(v - reference.conv[i])).toBeLessThanOrEqual(tolerance));
  result.dense.forEach((v, i) => expect(Math.abs(v - reference.dense[i])).toBeLessThanOrEqual(tolerance));
}

afterEach(() => {
  jest.restoreAllMocks();
  // Undo what a simulated native package registered, so each test starts from a process without it.
  if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
  for (const kernel of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(kernel.kernelName, 'tensorflow');
});

describe('backend table', () => {
  it('orders candidates fastest first and maps each to its package and tfjs name', () => {
    expect(BACKEND_ORDER).toEqual(['onnx-cuda', 'tensorflow-gpu', 'onnx-webgpu', 'onnx', 'tensorflow', 'wasm', 'cpu']);
    expect(BACKEND_SPECS['onnx-cuda']).toMatchObject({ packageName: ONNX_PKG, engine: 'onnx', provider: 'cuda' });
    expect(BACKEND_SPECS['onnx-webgpu']).toMatchObject({ packageName: ONNX_PKG, engine: 'onnx', provider: 'webgpu' });
    expect(BACKEND_SPECS.onnx).toMatchObject({ packageName: ONNX_PKG, engine: 'onnx', provider: 'cpu' });
    expect(BACKEND_SPECS['tensorflow-gpu']).toMatchObject({ packageName: GPU_PKG, tfjsName: 'tensorflow' });
    expect(BACKEND_SPECS.tensorflow).toMatchObject({ packageName: NODE_PKG, tfjsName: 'tensorflow' });
    expect(BACKEND_SPECS.wasm).toMatchObject({ packageName: WASM_PKG, tfjsName: 'wasm' });
    expect(BACKEND_SPECS.cpu).toMatchObject({ packageName: '@tensorflow/tfjs-backend-cpu', tfjsName: 'cpu' });
  });
});

describe('auto-selection with the real require', () => {
  it('chooses onnx here: no CUDA provider installed, no GPU device, the CPU provider bundled in npm', async () => {
    const choice = await selectBackend();
    expect(choice).toMatchObject({ name: 'onnx', engine: 'onnx' });
    expect(choice.tried[0]).toEqual({ name: 'onnx-cuda', error: `${ONNX_PKG}'s CUDA provider is not installed (no libonnxruntime_providers_cuda.so)` });
    expect(choice.tried.find((t) => t.name === 'onnx-webgpu')?.error).toBe(`${ONNX_PKG} WebGPU: no GPU device`);
    expect(choice.details).toMatch(/^onnxruntime-node \d+\.\d+\.\d+, CPU execution provider$/);
    expect(await selectBackend({ backend: 'auto' })).toBe(choice);
  });
});

describe('the ONNX backends, on this machine and on simulated ones', () => {
  it('tries the CUDA provider where its library is installed, and passes over it when it cannot start', async () => {
    // The simulated library is not really there: ONNX Runtime fails to load it, as it fails without a driver.
    const choice = await selectBackend({ loader: fakeLoader({ onnx: 'real' }), machine: machine({ cuda: true, gpu: true }) });
    expect(choice.name).toBe('onnx');
    expect(choice.tried[0]?.name).toBe('onnx-cuda');
    expect(choice.tried[0]?.error).toMatch(/^onnxruntime-node CUDA provider failed to start: /);
    expect(choice.tried[0]?.error).not.toContain('\n');
  });

  it('tries WebGPU where a GPU device exists, and passes over it when Dawn finds no adapter', async () => {
    const choice = await selectBackend({ loader: fakeLoader({ onnx: 'real' }), machine: machine({ gpu: true }) });
    expect(choice.name).toBe('onnx');
    expect(choice.tried.find((t) => t.name === 'onnx-webgpu')?.error).toMatch(/^onnxruntime-node WebGPU provider failed to start: .*adapter/i);
  });

  it('passes over an onnxruntime-node that loads but exports nothing usable', async () => {
    const choice = await selectBackend({ loader: fakeLoader({ onnx: 'broken' }), machine: machine() });
    expect(choice.name).toBe('wasm');
    expect(choice.reason).toContain(`${ONNX_PKG} loaded but exports no InferenceSession or Tensor`);
  });

  it('forced onnx-cuda without its provider: one line naming the library and the command that installs it', async () => {
    const error: unknown = await selectBackend({ backend: 'onnx-cuda', loader: fakeLoader({ onnx: 'real' }), machine: machine() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    const { message } = error as UserError;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^Backend 'onnx-cuda' is unavailable: onnxruntime-node's CUDA provider is not installed \(no libonnxruntime_providers_cuda\.so\);/);
    expect(message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node');
    expect(message).toContain('CUDA 12');
    expect(message).toContain('cuDNN 9');
  });

  it('forced onnx-webgpu tries even without a GPU device, and says what is missing when it cannot start', async () => {
    const error: unknown = await selectBackend({ backend: 'onnx-webgpu', loader: fakeLoader({ onnx: 'real' }), machine: machine() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    const { message } = error as UserError;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^Backend 'onnx-webgpu' is unavailable: onnxruntime-node WebGPU provider failed to start: /);
    expect(message).toContain('Vulkan');
  });

  it("forces 'onnx'", async () => {
    const choice = await selectBackend({ backend: 'onnx', loader: fakeLoader({ onnx: 'real' }), machine: machine({ cuda: true, gpu: true }) });
    expect(choice).toMatchObject({ name: 'onnx', engine: 'onnx', reason: 'onnx: requested explicitly', tried: [] });
  });
});

describe('TF.js fallbacks, where onnxruntime-node is missing', () => {
  const nativeInstalled = installed(GPU_PKG) || installed(NODE_PKG);
  // On a machine with libtensorflow installed the native backend rightly wins; this test is about the fallback.
  (nativeInstalled ? it.skip : it)('falls through the absent native packages to a working wasm backend', async () => {
    const loader = fakeLoader({ gpu: 'absent', node: 'absent' });
    const choice = await selectBackend({ loader });
    expect(choice.name).toBe('wasm');
    expect(choice.tried).toEqual([
      { name: 'onnx-cuda', error: ONNX_MISSING },
      { name: 'tensorflow-gpu', error: `${GPU_PKG} not installed` },
      { name: 'onnx-webgpu', error: ONNX_MISSING },
      { name: 'onnx', error: ONNX_MISSING },
      { name: 'tensorflow', error: `${NODE_PKG} not installed` },
    ]);
    // onnxruntime-node's absence is said once, though it took three backends with it.
    expect(choice.reason).toBe(`wasm: ${ONNX_MISSING}, ${GPU_PKG} not installed, ${NODE_PKG} not installed`);
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.backend()).toBeInstanceOf(BackendWasm);
    // Node has WebAssembly SIMD; tfjs-backend-wasm never enables its threaded build in Node.
    expect(choice.details).toContain('tfjs-backend-wasm-simd.wasm');
    expect(choice.details).toContain('SIMD on');
    expect(choice.details).toContain('single-threaded (1 thread)');
    expectSameAsCpu(tinyModelStep(), 1e-4);

    // Idempotent: the same choice, without loading again, and the engine is switched back if it was changed.
    await tf.setBackend('cpu');
    const again = await selectBackend({ backend: 'auto', loader });
    expect(again).toBe(choice);
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('auto-selection with simulated native packages', () => {
  it('chooses tensorflow-gpu when the GPU package loads and TensorFlow sees a CUDA device', async () => {
    const loader = fakeLoader({ gpu: { factory: () => new FakeNodeBackend(true, true) } });
    const choice = await selectBackend({ loader });
    expect(choice).toMatchObject({ name: 'tensorflow-gpu', reason: `tensorflow-gpu: ${ONNX_MISSING}`, tried: [{ name: 'onnx-cuda', error: ONNX_MISSING }] });
    expect(choice.details).toBe(`${GPU_PKG} 4.22.0, TensorFlow 2.9.1 on a CUDA GPU`);
    expect(tf.getBackend()).toBe('tensorflow');
    expect(tf.backend()).toBeInstanceOf(FakeNodeBackend);
    expectSameAsCpu(tinyModelStep(), 0);
    expect(loader.mock.calls).toEqual([[ONNX_PKG], [GPU_PKG]]);

    // A second call is answered from the cache.
    expect(await selectBackend({ loader })).toBe(choice);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('passes over a GPU package without a CUDA device and reuses its TensorFlow on the CPU', async () => {
    const loader = fakeLoader({ gpu: { factory: () => new FakeNodeBackend(true, false) } });
    const choice = await selectBackend({ loader });
    expect(choice.name).toBe('tensorflow');
    expect(choice.tried.filter((t) => t.error !== ONNX_MISSING)).toEqual([
      { name: 'tensorflow-gpu', error: `${GPU_PKG} loaded, but TensorFlow sees no CUDA GPU` },
    ]);
    expect(choice.reason).toBe(`tensorflow: ${ONNX_MISSING}, ${GPU_PKG} loaded, but TensorFlow sees no CUDA GPU`);
    expect(choice.details).toBe(`${GPU_PKG}, TensorFlow 2.9.1 on the CPU`);
    // No second libtensorflow: tfjs-node is never loaded.
    expect(loader).not.toHaveBeenCalledWith(NODE_PKG);
    expectSameAsCpu(tinyModelStep(), 0);
  });

  it('names a broken native package in the reason and continues to the next one', async () => {
    const loader = fakeLoader({ gpu: 'broken-binding', node: { factory: () => new FakeNodeBackend(false, false) } });
    const choice = await selectBackend({ loader });
    expect(choice.name).toBe('tensorflow');
    expect(choice.tried.filter((t) => t.error !== ONNX_MISSING)).toEqual([
      {
        name: 'tensorflow-gpu',
        error: `${GPU_PKG} failed to load: Cannot find module '/app/node_modules/${GPU_PKG}/lib/napi-v8/tfjs_binding.node'`,
      },
    ]);
    expect(choice.reason).toMatch(/^tensorflow: onnxruntime-node not installed, @tensorflow\/tfjs-node-gpu failed to load: Cannot find module '.*'$/);
    expect(choice.details).toBe(`${NODE_PKG} 4.22.0, TensorFlow 2.9.1 on the CPU`);
    expect(tf.backend()).toBeInstanceOf(FakeNodeBackend);
    expectSameAsCpu(tinyModelStep(), 0);
  });

  it('falls through two broken native packages to wasm', async () => {
    const loader = fakeLoader({ gpu: 'broken-binding', node: 'broken-dlopen' });
    const choice = await selectBackend({ loader });
    expect(choice.name).toBe('wasm');
    expect(choice.tried.map((t) => t.name)).toEqual(['onnx-cuda', 'tensorflow-gpu', 'onnx-webgpu', 'onnx', 'tensorflow']);
    expect(choice.reason).toContain(
      `${NODE_PKG} failed to load: libtensorflow.so.2: cannot open shared object file: No such file or directory`,
    );
    expect(choice.reason).not.toContain('\n');
    expect(tf.backend()).toBeInstanceOf(BackendWasm);
    expectSameAsCpu(tinyModelStep(), 1e-4);
  });

  it('reports a backend whose initialisation fails and continues', async () => {
    const loader = fakeLoader({
      gpu: {
        factory: () => {
          throw new Error('CUDA driver version is insufficient for CUDA runtime version\n    at TFJSBackend');
        },
      },
    });
    const choice = await selectBackend({ loader });
    expect(choice.tried[1]).toEqual({
      name: 'tensorflow-gpu',
      error: `${GPU_PKG} failed to initialise: CUDA driver version is insufficient for CUDA runtime version`,
    });
    // The same registration also fails for the 'tensorflow' candidate; then wasm.
    expect(choice.name).toBe('wasm');
  });

  it('falls back to cpu when even wasm is missing', async () => {
    const choice = await selectBackend({ loader: fakeLoader({ wasm: 'absent' }) });
    expect(choice.name).toBe('cpu');
    expect(choice.reason).toBe(`cpu: ${ONNX_MISSING}, ${GPU_PKG} not installed, ${NODE_PKG} not installed, ${WASM_PKG} not installed`);
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('forced backends', () => {
  async function forcedError(options: Parameters<typeof selectBackend>[0]): Promise<UserError> {
    const error: unknown = await selectBackend(options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    const message = (error as UserError).message;
    expect(message).not.toContain('\n');
    return error as UserError;
  }

  it('throws a one-line UserError saying how to get a missing GPU package', async () => {
    const { message } = await forcedError({ backend: 'tensorflow-gpu', loader: fakeLoader({}) });
    expect(message).toMatch(/^Backend 'tensorflow-gpu' is unavailable: @tensorflow\/tfjs-node-gpu not installed;/);
    expect(message).toContain('npm install @tensorflow/tfjs-node-gpu');
    expect(message).toContain('CUDA 11.x');
    expect(message).toContain('cuDNN 8');
    expect(message).toContain('internet');
  });

  it('tells a half-installed tfjs-node apart from a missing one', async () => {
    const { message } = await forcedError({ backend: 'tensorflow', loader: fakeLoader({ node: 'broken-binding' }) });
    expect(message).toContain(`${NODE_PKG} failed to load: Cannot find module`);
    expect(message).toContain('npm rebuild @tensorflow/tfjs-node');
  });

  it('refuses tensorflow-gpu when TensorFlow runs on the CPU', async () => {
    const loader = fakeLoader({ gpu: { factory: () => new FakeNodeBackend(true, false) } });
    const { message } = await forcedError({ backend: 'tensorflow-gpu', loader });
    expect(message).toContain('sees no CUDA GPU');
    expect(message).toContain('nvidia-smi');
  });

  it('does not cache failures', async () => {
    const loader = fakeLoader({ wasm: 'absent' });
    await forcedError({ backend: 'wasm', loader });
    await forcedError({ backend: 'wasm', loader });
    expect(loader.mock.calls.filter(([pkg]) => pkg === WASM_PKG)).toHaveLength(2);
  });

  it("forces 'cpu' without touching the native packages", async () => {
    const loader = fakeLoader({});
    const choice = await selectBackend({ backend: 'cpu', loader });
    expect(choice).toMatchObject({ name: 'cpu', reason: 'cpu: requested explicitly', tried: [] });
    expect(choice.details).toMatch(/^@tensorflow\/tfjs-backend-cpu \d+\.\d+\.\d+, /);
    expect(loader.mock.calls).toEqual([['@tensorflow/tfjs-backend-cpu']]);
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.backend()).toBeInstanceOf(MathBackendCPU);
    expectSameAsCpu(tinyModelStep(), 0);
  });

  it("forces 'wasm'", async () => {
    const choice = await selectBackend({ backend: 'wasm', loader: fakeLoader({ gpu: 'broken-binding' }) });
    expect(choice.name).toBe('wasm');
    expect(tf.backend()).toBeInstanceOf(BackendWasm);
  });
});

describe('parseBackendName', () => {
  it('accepts every backend and auto, forgiving case and blanks', () => {
    for (const name of [...BACKEND_ORDER, 'auto'] as const) expect(parseBackendName(name)).toBe(name);
    expect(parseBackendName(' WASM ')).toBe('wasm');
  });

  it.each(['', 'gpu', 'webgl', 'tensorflow_gpu'])('rejects %p with the list of valid names', (text) => {
    expect(() => parseBackendName(text)).toThrow(UserError);
    expect(() => parseBackendName(text)).toThrow(
      `Unknown backend '${text}'; valid backends are: onnx-cuda, tensorflow-gpu, onnx-webgpu, onnx, tensorflow, wasm, cpu, auto.`,
    );
  });
});

describe('describeBackend', () => {
  it('gives one line with the backend, what runs and why', () => {
    const choice: BackendChoice = {
      name: 'wasm',
      engine: 'tfjs',
      reason: `wasm: ${GPU_PKG} not installed, ${NODE_PKG} not installed`,
      tried: [
        { name: 'tensorflow-gpu', error: `${GPU_PKG} not installed` },
        { name: 'tensorflow', error: `${NODE_PKG} not installed` },
      ],
      details: `${WASM_PKG} 4.22.0, tfjs-backend-wasm-simd.wasm, SIMD on, single-threaded (1 thread)`,
    };
    expect(describeBackend(choice)).toBe(
      `backend wasm (${WASM_PKG} 4.22.0, tfjs-backend-wasm-simd.wasm, SIMD on, single-threaded (1 thread)); ` +
        `${GPU_PKG} not installed, ${NODE_PKG} not installed`,
    );
  });
});
