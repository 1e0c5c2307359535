import { resourceSplit } from '../../src/infer/split';

describe('resourceSplit: workers x threads when the user does not say', () => {
  it('files on the onnx CPU provider: one single-threaded worker per core', () => {
    expect(resourceSplit('onnx', {}, 'files', 8)).toEqual({ workers: 8, threads: 1 });
    expect(resourceSplit('onnx', { threads: 2 }, 'files', 8)).toEqual({ workers: 4, threads: 2 });
    expect(resourceSplit('onnx', { workers: 3 }, 'files', 8)).toEqual({ workers: 3, threads: 1 });
  });

  it('live sources on the onnx CPU provider: one worker with every core', () => {
    expect(resourceSplit('onnx', {}, 'live', 8)).toEqual({ workers: 1, threads: 8 });
    expect(resourceSplit('onnx', { workers: 2 }, 'live', 8)).toEqual({ workers: 2, threads: 4 });
    expect(resourceSplit('onnx', { workers: 16 }, 'live', 8)).toEqual({ workers: 16, threads: 1 });
  });

  it('GPUs get one worker; TF.js backends one worker per core and no thread setting', () => {
    expect(resourceSplit('onnx-cuda', {}, 'files', 8)).toEqual({ workers: 1, threads: undefined });
    expect(resourceSplit('onnx-webgpu', { threads: 2 }, 'live', 8)).toEqual({ workers: 1, threads: 2 });
    expect(resourceSplit('tensorflow-gpu', {}, 'files', 8)).toEqual({ workers: 1, threads: undefined });
    expect(resourceSplit('wasm', { threads: 4 }, 'files', 2)).toEqual({ workers: 2, threads: undefined });
  });
});
