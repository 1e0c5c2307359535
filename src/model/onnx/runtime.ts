/**
 * ONNX Runtime as the engine sees it: the package's types, and sessions made with the provider and thread count
 * the backend selection chose. `onnxruntime-node` ships its CPU library (and the WebGPU provider) in the npm
 * package; the CUDA provider comes from outside npm (backend.ts says how).
 */
import type * as Ort from 'onnxruntime-node';

export type OnnxRuntime = typeof Ort;
export type OrtSession = Ort.InferenceSession;
export type OrtTensor = Ort.Tensor;

/** ONNX Runtime's execution-provider names for dashseg's `onnx`, `onnx-cuda` and `onnx-webgpu` backends. */
export type OnnxProvider = 'cpu' | 'cuda' | 'webgpu';

export interface OnnxSessionOptions {
  provider: OnnxProvider;
  /** Intra-op threads of each session; ONNX Runtime's default (one per core) when absent. */
  threads?: number;
}

export async function createSession(ort: OnnxRuntime, model: Uint8Array | string, options: OnnxSessionOptions): Promise<OrtSession> {
  const sessionOptions: Ort.InferenceSession.SessionOptions = {
    executionProviders: [options.provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    // Errors only: ONNX Runtime warns about every node it leaves on the CPU under a GPU provider.
    logSeverityLevel: 3,
    ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    // Idle pool threads sleep instead of spinning: spinning ones take the cores the decoder, tracker and encoder
    // on the main thread need (docs/experiments.md, 2026-12-07).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, sessionOptions) : ort.InferenceSession.create(model, sessionOptions);
}
