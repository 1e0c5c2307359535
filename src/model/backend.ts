/**
 * Chooses the engine and backend the model runs on. Two engines run the same Mask R-CNN from the same model
 * directory: ONNX Runtime (graphs written from the weights, onnx/) and TF.js (the model code in this folder, on
 * whichever TF.js backend). Auto-selection order, a GPU first, then the fastest on the CPU:
 *   onnx-cuda       onnxruntime-node with its CUDA provider (CUDA 12 + cuDNN 9; the provider comes from outside npm)
 *   tensorflow-gpu  @tensorflow/tfjs-node-gpu  (libtensorflow + CUDA 11.2; registers the tfjs backend 'tensorflow')
 *   onnx-webgpu     onnxruntime-node with its WebGPU provider (Dawn, bundled; needs a Vulkan driver and a GPU)
 *   onnx            onnxruntime-node on the CPU (bundled in the npm package; multi-threaded)
 *   tensorflow      @tensorflow/tfjs-node      (libtensorflow on the CPU; also registers 'tensorflow')
 *   wasm            @tensorflow/tfjs-backend-wasm (XNNPACK compiled to WebAssembly, one thread in Node)
 *   cpu             @tensorflow/tfjs-backend-cpu  (plain JavaScript kernels)
 * A GPU backend counts only where it finds a hardware device: a software adapter (a CPU Vulkan driver) is slower
 * than the CPU provider, so auto-selection passes over it.
 *
 * The native TF.js packages are optional: their install script downloads libtensorflow, which fails offline, and npm
 * then leaves them out (or leaves them half-installed without their native binding). Every package is therefore
 * loaded lazily through a `loader` so that its absence, or a broken install, becomes a line in the reason instead of
 * a crash, and so that tests can simulate packages that are present, absent or broken; what the machine has (a CUDA
 * provider library, a GPU device node) is asked through a `machine` for the same reason.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors';
import { OnnxGraph } from './onnx/graph';
import type { OnnxProvider, OnnxRuntime } from './onnx/runtime';

export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type OnnxBackendName = 'onnx-cuda' | 'onnx-webgpu' | 'onnx';
export type BackendName = OnnxBackendName | TfjsBackendName;

/** Auto-selection order: the first candidate that loads and initialises wins. */
export const BACKEND_ORDER: readonly BackendName[] = Object.freeze(['onnx-cuda', 'tensorflow-gpu', 'onnx-webgpu', 'onnx', 'tensorflow', 'wasm', 'cpu']);

/** The backends that compute on a GPU: one worker keeps each busy. */
export const GPU_BACKENDS: ReadonlySet<BackendName> = new Set<BackendName>(['onnx-cuda', 'tensorflow-gpu', 'onnx-webgpu']);

export const ONNX_PACKAGE = 'onnxruntime-node';

interface SpecBase {
  /** The npm package that provides the backend. */
  packageName: string;
  /** How to get the package when it is missing, for the error of a forced `--backend`. */
  install: string;
  /** How to repair an install that is present but does not load. */
  repair: string;
}

export interface TfjsBackendSpec extends SpecBase {
  name: TfjsBackendName;
  engine: 'tfjs';
  /** The name the package registers with the tfjs engine (both native packages use 'tensorflow'). */
  tfjsName: string;
}

export interface OnnxBackendSpec extends SpecBase {
  name: OnnxBackendName;
  engine: 'onnx';
  /** ONNX Runtime's execution provider. */
  provider: OnnxProvider;
}

export type BackendSpec = TfjsBackendSpec | OnnxBackendSpec;

const ONNX_REINSTALL = `it is a dependency of dashseg, so reinstall dashseg or run \`npm install ${ONNX_PACKAGE}\``;
/** The provider libraries are fetched by onnxruntime-node's install script; the environment variable wins over .npmrc. */
const CUDA_INSTALL =
  'on Linux x64 with an NVIDIA driver, CUDA 12 and cuDNN 9, install the provider with ' +
  `\`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild ${ONNX_PACKAGE}\` (downloads it, so it needs internet access)`;

export const BACKEND_SPECS: Readonly<Record<BackendName, BackendSpec>> = Object.freeze({
  'onnx-cuda': {
    name: 'onnx-cuda',
    engine: 'onnx',
    provider: 'cuda',
    packageName: ONNX_PACKAGE,
    install: CUDA_INSTALL,
    repair: 'check that the CUDA 12 and cuDNN 9 libraries are on LD_LIBRARY_PATH, and `nvidia-smi`',
  },
  'onnx-webgpu': {
    name: 'onnx-webgpu',
    engine: 'onnx',
    provider: 'webgpu',
    packageName: ONNX_PACKAGE,
    install: ONNX_REINSTALL,
    repair: "install the GPU's Vulkan driver and the Vulkan loader (libvulkan1), and check `vulkaninfo --summary`",
  },
  onnx: {
    name: 'onnx',
    engine: 'onnx',
    provider: 'cpu',
    packageName: ONNX_PACKAGE,
    install: ONNX_REINSTALL,
    repair: `reinstall it with \`npm install ${ONNX_PACKAGE}\` (its bin/ must hold libonnxruntime.so.1 and the binding)`,
  },
  'tensorflow-gpu': {
    name: 'tensorflow-gpu',
    engine: 'tfjs',
    packageName: '@tensorflow/tfjs-node-gpu',
    tfjsName: 'tensorflow',
    install:
      'install it with `npm install @tensorflow/tfjs-node-gpu` (Linux x64 with an NVIDIA GPU, CUDA 11.x and cuDNN 8; ' +
      'its install script downloads libtensorflow, so it needs internet access)',
    repair:
      'rerun its install script with `npm rebuild @tensorflow/tfjs-node-gpu` (downloads libtensorflow, needs internet ' +
      'access) and check that the CUDA 11.x and cuDNN 8 libraries are on LD_LIBRARY_PATH',
  },
  tensorflow: {
    name: 'tensorflow',
    engine: 'tfjs',
    packageName: '@tensorflow/tfjs-node',
    tfjsName: 'tensorflow',
    install:
      'install it with `npm install @tensorflow/tfjs-node` (its install script downloads libtensorflow, so it needs ' +
      'internet access)',
    repair:
      'rerun its install script with `npm rebuild @tensorflow/tfjs-node` (npm skips the native binding when the ' +
      'libtensorflow download fails; the rebuild needs internet access)',
  },
  wasm: {
    name: 'wasm',
    engine: 'tfjs',
    packageName: '@tensorflow/tfjs-backend-wasm',
    tfjsName: 'wasm',
    install: 'it is a dependency of dashseg, so reinstall dashseg or run `npm install @tensorflow/tfjs-backend-wasm`',
    repair: 'reinstall it with `npm install @tensorflow/tfjs-backend-wasm` (its dist/ must hold the .wasm files)',
  },
  cpu: {
    name: 'cpu',
    engine: 'tfjs',
    packageName: '@tensorflow/tfjs-backend-cpu',
    tfjsName: 'cpu',
    install: 'it is a dependency of dashseg, so reinstall dashseg or run `npm install @tensorflow/tfjs-backend-cpu`',
    repair: 'reinstall it with `npm install @tensorflow/tfjs-backend-cpu`',
  },
});

export interface BackendChoice {
  name: BackendName;
  engine: 'tfjs' | 'onnx';
  /** One line for people, e.g. "wasm: @tensorflow/tfjs-node-gpu not installed, @tensorflow/tfjs-node not installed". */
  reason: string;
  /** The candidates that were tried before `name` and why each was passed over, in order. */
  tried: { name: BackendName; error: string }[];
  /** What actually runs: package version, and TensorFlow version and device, or wasm SIMD and threads. */
  details: string;
}

/** Loads a package by name; `require` in production, a fake in tests. */
export type PackageLoader = (pkg: string) => unknown;

/** What the machine has, as far as the GPU backends need to know before trying one. */
export interface MachineProbe {
  /** Whether onnxruntime-node's CUDA provider library is installed beside its CPU library. */
  cudaProviderInstalled(): boolean;
  /** Whether a GPU device node exists (/dev/dri/renderD*, /dev/nvidia0): without one, any adapter is software. */
  gpuDevicePresent(): boolean;
}

export interface SelectBackendOptions {
  /** A forced backend, or 'auto' (the default) for the first of BACKEND_ORDER that works. */
  backend?: BackendName | 'auto';
  loader?: PackageLoader;
  machine?: MachineProbe;
}

const VALID_NAMES: readonly (BackendName | 'auto')[] = [...BACKEND_ORDER, 'auto'];

/** Parses a `--backend` value; case and surrounding blanks are forgiven because people type these. */
export function parseBackendName(text: string): BackendName | 'auto' {
  const name = text.trim().toLowerCase();
  const found = VALID_NAMES.find((valid) => valid === name);
  if (found === undefined) {
    throw new UserError(`Unknown backend '${text}'; valid backends are: ${VALID_NAMES.join(', ')}.`);
  }
  return found;
}

// `require` rather than `import()` because the project compiles to CommonJS, and because under jest only the
// module-scoped `require` resolves through jest's registry, so the backend registers with the same tfjs-core
// instance this module imports.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defaultLoader: PackageLoader = (pkg) => require(pkg);

/** onnxruntime-node keeps its native libraries in bin/napi-v6/<platform>/<arch> beside the binding. */
function onnxBinaryDir(): string | undefined {
  try {
    return join(dirname(require.resolve(`${ONNX_PACKAGE}/package.json`)), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

const realMachine: MachineProbe = {
  cudaProviderInstalled: () => {
    const dir = onnxBinaryDir();
    return dir !== undefined && existsSync(join(dir, 'libonnxruntime_providers_cuda.so'));
  },
  gpuDevicePresent: () => {
    if (existsSync('/dev/nvidia0')) return true;
    try {
      return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
    } catch {
      return false;
    }
  },
};

/**
 * Why a candidate was passed over. `kind` picks the advice in the error of a forced backend; `message` is the
 * self-contained phrase that goes into `tried` and the reason line.
 */
class CandidateUnavailable extends Error {
  constructor(
    readonly kind: 'missing' | 'broken' | 'no-gpu',
    message: string,
  ) {
    super(message);
    this.name = 'CandidateUnavailable';
  }
}

/** Reads a property of a value of unknown shape (a loaded module, a backend instance) without trusting its type. */
function field(value: unknown, key: string): unknown {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    return (value as Record<string, unknown>)[key];
  }
  return undefined;
}

/** The first line of whatever was thrown: native load errors carry a "Require stack" and stacks after it. */
function firstLine(error: unknown): string {
  const message = field(error, 'message');
  const text = typeof message === 'string' ? message : String(error);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.trim() || 'unknown error';
}

/**
 * True only when the package itself cannot be resolved. A half-installed tfjs-node also fails with
 * MODULE_NOT_FOUND, but for its native binding (".../lib/napi-v8/tfjs_binding.node"); that is a broken install,
 * not a missing one, and needs different advice. Node says "Cannot find module 'x'", jest "... 'x' from 'file'".
 */
function isPackageMissing(error: unknown, pkg: string): boolean {
  return field(error, 'code') === 'MODULE_NOT_FOUND' && firstLine(error).startsWith(`Cannot find module '${pkg}'`);
}

function load(spec: SpecBase, loader: PackageLoader): unknown {
  try {
    return loader(spec.packageName);
  } catch (error) {
    if (isPackageMissing(error, spec.packageName)) {
      throw new CandidateUnavailable('missing', `${spec.packageName} not installed`);
    }
    throw new CandidateUnavailable('broken', `${spec.packageName} failed to load: ${firstLine(error)}`);
  }
}

/**
 * Makes `tfjsName` the active backend and waits for it to be ready; throws with the initialisation error.
 * tf.setBackend() catches a failing backend factory, logs it and resolves false, which would lose the cause; the
 * factory is wrapped for the duration of the call so the cause can be reported. An already initialised backend
 * does not call its factory, so switching back to it is cheap.
 */
async function activate(spec: TfjsBackendSpec): Promise<void> {
  const registry = tf.engine().registryFactory;
  const entry = registry[spec.tfjsName];
  if (entry === undefined) {
    // Happens when the package resolved a different copy of @tensorflow/tfjs-core than this module did.
    throw new CandidateUnavailable(
      'broken',
      `${spec.packageName} loaded but registered no tfjs backend '${spec.tfjsName}' ` +
        `(does it depend on another @tensorflow/tfjs-core than ${tf.version_core}?)`,
    );
  }
  const original = entry.factory;
  let failure: unknown;
  entry.factory = () => {
    try {
      const made = original();
      if (made instanceof tf.KernelBackend) return made;
      // tfjs accepts any thenable here, so normalise before attaching the handler.
      return Promise.resolve(made).catch((error: unknown) => {
        failure = error;
        throw error;
      });
    } catch (error) {
      failure = error;
      throw error;
    }
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend(spec.tfjsName);
  } finally {
    entry.factory = original;
  }
  if (!ok) {
    const cause = failure === undefined ? `tf.setBackend('${spec.tfjsName}') returned false` : firstLine(failure);
    throw new CandidateUnavailable('broken', `${spec.packageName} failed to initialise: ${cause}`);
  }
  await tf.ready();
}

function packageVersion(module: unknown, key: string): string | undefined {
  const direct = field(module, key);
  if (typeof direct === 'string') return direct;
  // tfjs-node exports `version` as an object of all tfjs package versions.
  const nested = field(field(module, 'version'), key);
  return typeof nested === 'string' ? nested : undefined;
}

function withVersion(pkg: string, version: string | undefined): string {
  return version === undefined ? pkg : `${pkg} ${version}`;
}

/**
 * Whether libtensorflow placed ops on a CUDA device. At start-up the binding lists TensorFlow's devices and picks
 * the first "GPU" one, falling back to the host CPU when there is none (no driver, CUDA or cuDNN libraries not
 * found, no card): the GPU package then loads fine but computes on the CPU. tfjs-node's backend instance records
 * the answer as the boolean `isUsingGpuDevice`; its binding exposes the same as the function `isUsingGpuDevice()`.
 */
function tensorflowUsesGpu(instance: unknown): boolean | undefined {
  const recorded = field(instance, 'isUsingGpuDevice');
  if (typeof recorded === 'boolean') return recorded;
  const binding = field(instance, 'binding');
  const ask = field(binding, 'isUsingGpuDevice');
  if (typeof ask === 'function') {
    const answer: unknown = ask.call(binding);
    if (typeof answer === 'boolean') return answer;
  }
  return undefined;
}

function tensorflowVersion(instance: unknown): string {
  const version = field(field(instance, 'binding'), 'TF_Version');
  return typeof version === 'string' ? `TensorFlow ${version}` : 'TensorFlow';
}

/** tfjs-node's backend instance records which package made it, which matters when both are installed. */
function providerOf(instance: unknown): string {
  return field(instance, 'isGPUPackage') === true
    ? TFJS_SPECS['tensorflow-gpu'].packageName
    : TFJS_SPECS.tensorflow.packageName;
}

async function tryTensorflowGpu(loader: PackageLoader): Promise<string> {
  const spec = TFJS_SPECS['tensorflow-gpu'];
  const module = load(spec, loader);
  await activate(spec);
  const instance: unknown = tf.backend();
  if (field(instance, 'isGPUPackage') === false) {
    // tfjs-node was loaded first and owns the 'tensorflow' name; the GPU package's registration was refused.
    throw new CandidateUnavailable(
      'broken',
      `${spec.packageName} loaded, but the 'tensorflow' backend belongs to ${BACKEND_SPECS.tensorflow.packageName}, ` +
        'loaded earlier in this process',
    );
  }
  const gpu = tensorflowUsesGpu(instance);
  if (gpu !== true) {
    throw new CandidateUnavailable(
      'no-gpu',
      gpu === false
        ? `${spec.packageName} loaded, but TensorFlow sees no CUDA GPU`
        : `${spec.packageName} loaded, but it does not say whether TensorFlow uses a GPU`,
    );
  }
  return `${withVersion(spec.packageName, packageVersion(module, 'tfjs-node'))}, ${tensorflowVersion(instance)} on a CUDA GPU`;
}

async function tryTensorflow(loader: PackageLoader): Promise<string> {
  const spec = TFJS_SPECS.tensorflow;
  // When tfjs-node-gpu is already loaded (it was tried first and found no GPU), its 'tensorflow' backend is the same
  // libtensorflow on the CPU. Loading tfjs-node too would put a second libtensorflow into the process, and its
  // registration of 'tensorflow' would be refused anyway, so the loaded one is used.
  const module = tf.findBackendFactory(spec.tfjsName) == null ? load(spec, loader) : undefined;
  await activate(spec);
  const instance: unknown = tf.backend();
  const provider = module === undefined ? providerOf(instance) : spec.packageName;
  const device = tensorflowUsesGpu(instance) === true ? 'a CUDA GPU' : 'the CPU';
  return `${withVersion(provider, packageVersion(module, 'tfjs-node'))}, ${tensorflowVersion(instance)} on ${device}`;
}

async function tryWasm(loader: PackageLoader): Promise<string> {
  const spec = TFJS_SPECS.wasm;
  const module = load(spec, loader);
  await activate(spec);
  // The package registers these flags, and its init() reads them to pick the binary. In Node, SIMD follows
  // WebAssembly.validate() (on in any current Node); multi-threading is hard-wired off, because the threaded build
  // starts its workers from blob: URLs, which Node's worker_threads refuse.
  const simd = await readFlag('WASM_HAS_SIMD_SUPPORT');
  const threaded = await readFlag('WASM_HAS_MULTITHREAD_SUPPORT');
  const binary =
    simd === true && threaded === true
      ? 'tfjs-backend-wasm-threaded-simd.wasm'
      : simd === true
        ? 'tfjs-backend-wasm-simd.wasm'
        : 'tfjs-backend-wasm.wasm';
  const getThreadsCount = field(module, 'getThreadsCount');
  let threads = threaded === true ? 'multi-threaded' : 'single-threaded';
  if (typeof getThreadsCount === 'function') {
    const count: unknown = getThreadsCount();
    if (typeof count === 'number') threads += ` (${count} thread${count === 1 ? '' : 's'})`;
  }
  const simdText = simd === true ? 'SIMD on' : simd === false ? 'SIMD off (about 3x slower)' : 'SIMD unknown';
  return `${withVersion(spec.packageName, packageVersion(module, 'version_wasm'))}, ${binary}, ${simdText}, ${threads}`;
}

async function readFlag(name: string): Promise<boolean | undefined> {
  try {
    const value = await tf.env().getAsync(name);
    return typeof value === 'boolean' ? value : undefined;
  } catch {
    // An unregistered flag throws; a package too old or too new to define it is not a reason to fail.
    return undefined;
  }
}

async function tryCpu(loader: PackageLoader): Promise<string> {
  const spec = TFJS_SPECS.cpu;
  const module = load(spec, loader);
  await activate(spec);
  return `${withVersion(spec.packageName, packageVersion(module, 'version_cpu'))}, JavaScript kernels (slowest)`;
}

/** The same-named specs, typed by engine. */
const TFJS_SPECS = BACKEND_SPECS as Readonly<Record<TfjsBackendName, TfjsBackendSpec>>;
const ONNX_SPECS = BACKEND_SPECS as Readonly<Record<OnnxBackendName, OnnxBackendSpec>>;

const PROVIDER_LABELS: Readonly<Record<OnnxProvider, string>> = { cpu: 'CPU', cuda: 'CUDA', webgpu: 'WebGPU' };

/** Loads onnxruntime-node through `loader`; the worker that runs the model takes the same module from here. */
export function loadOnnxRuntime(loader: PackageLoader = defaultLoader): OnnxRuntime {
  const module = load(ONNX_SPECS.onnx, loader);
  const session = field(field(module, 'InferenceSession'), 'create');
  if (typeof session !== 'function' || typeof field(module, 'Tensor') !== 'function') {
    throw new CandidateUnavailable('broken', `${ONNX_PACKAGE} loaded but exports no InferenceSession or Tensor`);
  }
  return module as OnnxRuntime;
}

/** A one-node graph (y = x + x): what it takes to know a provider starts and computes, in a few milliseconds. */
function probeGraph(): Uint8Array {
  const graph = new OnnxGraph('dashseg.probe');
  const x = graph.input('x', 'float', [4]);
  graph.output(graph.node('Add', [x, x]), 'y', 'float', [4]);
  return graph.serialize('probe');
}

/** Creates and runs the probe graph on `provider`; throws what ONNX Runtime said, first line only. */
async function probeProvider(ort: OnnxRuntime, provider: OnnxProvider): Promise<void> {
  const session = await ort.InferenceSession.create(probeGraph(), { executionProviders: [provider], logSeverityLevel: 3 });
  try {
    const result = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [4]) });
    const y = result.y?.data;
    if (!(y instanceof Float32Array) || y[3] !== 8) throw new Error('the probe graph computed a wrong result');
  } finally {
    await session.release();
  }
}

function onnxVersion(ort: OnnxRuntime): string | undefined {
  const version = field(field(field(ort, 'env'), 'versions'), 'node');
  return typeof version === 'string' ? version : undefined;
}

/**
 * An ONNX backend: the package loads, the provider's library is there, a GPU device exists (for a GPU provider under
 * auto-selection), and a one-node graph runs on it.
 */
function tryOnnx(name: OnnxBackendName): Attempt {
  return async (loader, machine, forced) => {
    const spec = ONNX_SPECS[name];
    const ort = loadOnnxRuntime(loader);
    if (spec.provider === 'cuda' && !machine.cudaProviderInstalled()) {
      throw new CandidateUnavailable('missing', `${ONNX_PACKAGE}'s CUDA provider is not installed (no libonnxruntime_providers_cuda.so)`);
    }
    if (spec.provider !== 'cpu' && !forced && !machine.gpuDevicePresent()) {
      throw new CandidateUnavailable('no-gpu', `${ONNX_PACKAGE} ${PROVIDER_LABELS[spec.provider]}: no GPU device`);
    }
    try {
      await probeProvider(ort, spec.provider);
    } catch (error) {
      const kind = spec.provider === 'cpu' ? 'broken' : 'no-gpu';
      throw new CandidateUnavailable(kind, `${ONNX_PACKAGE} ${PROVIDER_LABELS[spec.provider]} provider failed to start: ${firstLine(error)}`);
    }
    const device = spec.provider === 'cpu' ? '' : machine.gpuDevicePresent() ? '' : ' (no GPU device found: a software adapter)';
    return `${withVersion(ONNX_PACKAGE, onnxVersion(ort))}, ${PROVIDER_LABELS[spec.provider]} execution provider${device}`;
  };
}

type Attempt = (loader: PackageLoader, machine: MachineProbe, forced: boolean) => Promise<string>;

const ATTEMPTS: Readonly<Record<BackendName, Attempt>> = {
  'onnx-cuda': tryOnnx('onnx-cuda'),
  'tensorflow-gpu': tryTensorflowGpu,
  'onnx-webgpu': tryOnnx('onnx-webgpu'),
  onnx: tryOnnx('onnx'),
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/** Anything other than CandidateUnavailable escaping an attempt is still a reason to try the next candidate. */
function asUnavailable(name: BackendName, error: unknown): CandidateUnavailable {
  if (error instanceof CandidateUnavailable) return error;
  return new CandidateUnavailable('broken', `${BACKEND_SPECS[name].packageName} failed: ${firstLine(error)}`);
}

async function choose(requested: BackendName | 'auto', loader: PackageLoader, machine: MachineProbe): Promise<BackendChoice> {
  if (requested !== 'auto') {
    const spec = BACKEND_SPECS[requested];
    let details: string;
    try {
      details = await ATTEMPTS[requested](loader, machine, true);
    } catch (error) {
      const why = asUnavailable(requested, error);
      let advice = spec.repair;
      if (why.kind === 'missing') advice = spec.install;
      if (why.kind === 'no-gpu' && spec.name === 'tensorflow-gpu') {
        advice = 'check `nvidia-smi`, and that the CUDA 11.x and cuDNN 8 libraries are on LD_LIBRARY_PATH';
      }
      throw new UserError(
        `Backend '${requested}' is unavailable: ${why.message}; ${advice}. Or use --backend auto.`.replace(/\s+/g, ' '),
      );
    }
    return { name: requested, engine: spec.engine, reason: `${requested}: requested explicitly`, tried: [], details };
  }

  const tried: { name: BackendName; error: string }[] = [];
  for (const name of BACKEND_ORDER) {
    let details: string;
    try {
      details = await ATTEMPTS[name](loader, machine, false);
    } catch (error) {
      tried.push({ name, error: asUnavailable(name, error).message });
      continue;
    }
    // One package missing is one reason, however many of its backends it took with it.
    const why = tried.length === 0 ? 'first choice' : [...new Set(tried.map((t) => t.error))].join(', ');
    return { name, engine: BACKEND_SPECS[name].engine, reason: `${name}: ${why}`, tried, details };
  }
  // Only reachable when even the JavaScript backend is missing, i.e. dashseg's own install is broken.
  throw new UserError(
    `No backend could be started: ${[...new Set(tried.map((t) => t.error))].join(', ')}; reinstall dashseg.`.replace(
      /\s+/g,
      ' ',
    ),
  );
}

/**
 * Successful selections, per loader and requested name. Keyed by loader so a test's simulated packages never see
 * another test's result; holding the promise makes concurrent callers share one selection.
 */
const choices = new WeakMap<PackageLoader, Map<BackendName | 'auto', Promise<BackendChoice>>>();

/**
 * Selects, loads and activates a backend; see the module comment for the order. Repeated calls with the same
 * request return the same choice without loading anything again; they only switch the engine back to it if another
 * backend was activated in between. A forced backend that cannot start throws a one-line UserError that says what
 * is missing and how to get it.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const requested = options.backend ?? 'auto';
  const loader = options.loader ?? defaultLoader;
  const machine = options.machine ?? realMachine;
  let perLoader = choices.get(loader);
  if (perLoader === undefined) {
    perLoader = new Map();
    choices.set(loader, perLoader);
  }

  const cached = perLoader.get(requested);
  if (cached !== undefined) {
    const choice = await cached;
    const spec = BACKEND_SPECS[choice.name];
    // ONNX sessions name their provider themselves: nothing is global to switch back to.
    if (spec.engine === 'onnx' || tf.getBackend() === spec.tfjsName) return choice;
    try {
      await activate(spec);
      return choice;
    } catch {
      // The backend was removed from the engine since; fall through and select afresh.
      if (perLoader.get(requested) === cached) perLoader.delete(requested);
    }
  }

  const pending = perLoader.get(requested) ?? choose(requested, loader, machine);
  perLoader.set(requested, pending);
  try {
    return await pending;
  } catch (error) {
    // Failures are not cached: the user may install the package and retry in the same process (tests do).
    if (perLoader.get(requested) === pending) perLoader.delete(requested);
    throw error;
  }
}

/** One line for the start-up log and `dashseg doctor`: what runs, and why it was chosen. */
export function describeBackend(choice: BackendChoice): string {
  const prefix = `${choice.name}: `;
  const why = choice.reason.startsWith(prefix) ? choice.reason.slice(prefix.length) : choice.reason;
  const text = `backend ${choice.name} (${choice.details}); ${why}`;
  return text.replace(/\s+/g, ' ');
}
