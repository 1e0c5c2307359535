/**
 * Chooses the TF.js backend the model runs on. The model code is the same on every backend (it only calls
 * `@tensorflow/tfjs-core` ops); what changes is which kernel implementation the engine dispatches to.
 *
 * Auto-selection order, fastest first:
 *   tensorflow-gpu  @tensorflow/tfjs-node-gpu  (libtensorflow + CUDA; registers the tfjs backend 'tensorflow')
 *   tensorflow      @tensorflow/tfjs-node      (libtensorflow on the CPU; also registers 'tensorflow')
 *   wasm            @tensorflow/tfjs-backend-wasm (XNNPACK compiled to WebAssembly, SIMD where available)
 *   cpu             @tensorflow/tfjs-backend-cpu  (plain JavaScript kernels)
 *
 * The two native packages are optional: their install script downloads libtensorflow, which fails offline, and npm
 * then leaves them out (or leaves them half-installed without their native binding). Every package is therefore
 * loaded lazily through a `loader` so that its absence, or a broken install, becomes a line in the reason instead of
 * a crash, and so that tests can simulate packages that are present, absent or broken.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Auto-selection order: the first candidate that loads and initialises wins. */
export const BACKEND_ORDER: readonly BackendName[] = Object.freeze(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);

export interface BackendSpec {
  name: BackendName;
  /** The npm package whose side-effect import registers the backend. */
  packageName: string;
  /** The name the package registers with the tfjs engine (both native packages use 'tensorflow'). */
  tfjsName: string;
  /** How to get the package when it is missing, for the error of a forced `--backend`. */
  install: string;
  /** How to repair an install that is present but does not load. */
  repair: string;
}

export const BACKEND_SPECS: Readonly<Record<BackendName, BackendSpec>> = Object.freeze({
  'tensorflow-gpu': {
    name: 'tensorflow-gpu',
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
    packageName: '@tensorflow/tfjs-backend-wasm',
    tfjsName: 'wasm',
    install: 'it is a dependency of dashseg, so reinstall dashseg or run `npm install @tensorflow/tfjs-backend-wasm`',
    repair: 'reinstall it with `npm install @tensorflow/tfjs-backend-wasm` (its dist/ must hold the .wasm files)',
  },
  cpu: {
    name: 'cpu',
    packageName: '@tensorflow/tfjs-backend-cpu',
    tfjsName: 'cpu',
    install: 'it is a dependency of dashseg, so reinstall dashseg or run `npm install @tensorflow/tfjs-backend-cpu`',
    repair: 'reinstall it with `npm install @tensorflow/tfjs-backend-cpu`',
  },
});

export interface BackendChoice {
  name: BackendName;
  /** One line for people, e.g. "wasm: @tensorflow/tfjs-node-gpu not installed, @tensorflow/tfjs-node not installed". */
  reason: string;
  /** The candidates that were tried before `name` and why each was passed over, in order. */
  tried: { name: BackendName; error: string }[];
  /** What actually runs: package version, and TensorFlow version and device, or wasm SIMD and threads. */
  details: string;
}

/** Loads a package by name; `require` in production, a fake in tests. */
export type PackageLoader = (pkg: string) => unknown;

export interface SelectBackendOptions {
  /** A forced backend, or 'auto' (the default) for the first of BACKEND_ORDER that works. */
  backend?: BackendName | 'auto';
  loader?: PackageLoader;
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

function load(spec: BackendSpec, loader: PackageLoader): unknown {
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
async function activate(spec: BackendSpec): Promise<void> {
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
    ? BACKEND_SPECS['tensorflow-gpu'].packageName
    : BACKEND_SPECS.tensorflow.packageName;
}

async function tryTensorflowGpu(loader: PackageLoader): Promise<string> {
  const spec = BACKEND_SPECS['tensorflow-gpu'];
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
  const spec = BACKEND_SPECS.tensorflow;
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
  const spec = BACKEND_SPECS.wasm;
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
  const spec = BACKEND_SPECS.cpu;
  const module = load(spec, loader);
  await activate(spec);
  return `${withVersion(spec.packageName, packageVersion(module, 'version_cpu'))}, JavaScript kernels (slowest)`;
}

const ATTEMPTS: Readonly<Record<BackendName, (loader: PackageLoader) => Promise<string>>> = {
  'tensorflow-gpu': tryTensorflowGpu,
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/** Anything other than CandidateUnavailable escaping an attempt is still a reason to try the next candidate. */
function asUnavailable(name: BackendName, error: unknown): CandidateUnavailable {
  if (error instanceof CandidateUnavailable) return error;
  return new CandidateUnavailable('broken', `${BACKEND_SPECS[name].packageName} failed: ${firstLine(error)}`);
}

async function choose(requested: BackendName | 'auto', loader: PackageLoader): Promise<BackendChoice> {
  if (requested !== 'auto') {
    const spec = BACKEND_SPECS[requested];
    let details: string;
    try {
      details = await ATTEMPTS[requested](loader);
    } catch (error) {
      const why = asUnavailable(requested, error);
      let advice = spec.repair;
      if (why.kind === 'missing') advice = spec.install;
      if (why.kind === 'no-gpu') {
        advice = 'check `nvidia-smi`, and that the CUDA 11.x and cuDNN 8 libraries are on LD_LIBRARY_PATH';
      }
      throw new UserError(
        `Backend '${requested}' is unavailable: ${why.message}; ${advice}. Or use --backend auto.`.replace(/\s+/g, ' '),
      );
    }
    return { name: requested, reason: `${requested}: requested explicitly`, tried: [], details };
  }

  const tried: { name: BackendName; error: string }[] = [];
  for (const name of BACKEND_ORDER) {
    let details: string;
    try {
      details = await ATTEMPTS[name](loader);
    } catch (error) {
      tried.push({ name, error: asUnavailable(name, error).message });
      continue;
    }
    const why = tried.length === 0 ? 'first choice' : tried.map((t) => t.error).join(', ');
    return { name, reason: `${name}: ${why}`, tried, details };
  }
  // Only reachable when even the JavaScript backend is missing, i.e. dashseg's own install is broken.
  throw new UserError(
    `No TF.js backend could be started: ${tried.map((t) => t.error).join(', ')}; reinstall dashseg.`.replace(
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
  let perLoader = choices.get(loader);
  if (perLoader === undefined) {
    perLoader = new Map();
    choices.set(loader, perLoader);
  }

  const cached = perLoader.get(requested);
  if (cached !== undefined) {
    const choice = await cached;
    const spec = BACKEND_SPECS[choice.name];
    if (tf.getBackend() === spec.tfjsName) return choice;
    try {
      await activate(spec);
      return choice;
    } catch {
      // The backend was removed from the engine since; fall through and select afresh.
      if (perLoader.get(requested) === cached) perLoader.delete(requested);
    }
  }

  const pending = perLoader.get(requested) ?? choose(requested, loader);
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
