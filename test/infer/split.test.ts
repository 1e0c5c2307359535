import { resourceSplit } from '../../src/infer/split';

describe('resourceSplit: workers x threads when the user does not say', () => {
  it('videos (files and live sources) on the onnx CPU provider: one single-threaded worker per core', () => {
    expect(resourceSplit('onnx', {}, 'frames', 8)).toEqual({ workers: 8, threads: 1 });
    expect(resourceSplit('onnx', { threads: 2 }, 'frames', 8)).toEqual({ workers: 4, threads: 2 });
    expect(resourceSplit('onnx', { workers: 3 }, 'frames', 8)).toEqual({ workers: 3, threads: 1 });
  });

  it('images (detect) on the onnx CPU provider: one worker with every core', () => {
    expect(resourceSplit('onnx', {}, 'images', 8)).toEqual({ workers: 1, threads: 8 });
    expect(resourceSplit('onnx', { workers: 2 }, 'images', 8)).toEqual({ workers: 2, threads: 4 });
    expect(resourceSplit('onnx', { workers: 16 }, 'images', 8)).toEqual({ workers: 16, threads: 1 });
  });

  it('GPUs get one worker; TF.js backends one worker per core and no thread setting', () => {
    expect(resourceSplit('onnx-cuda', {}, 'frames', 8)).toEqual({ workers: 1, threads: undefined });
    expect(resourceSplit('onnx-webgpu', { threads: 2 }, 'images', 8)).toEqual({ workers: 1, threads: 2 });
    expect(resourceSplit('tensorflow-gpu', {}, 'frames', 8)).toEqual({ workers: 1, threads: undefined });
    expect(resourceSplit('wasm', { threads: 4 }, 'frames', 2)).toEqual({ workers: 2, threads: undefined });
  });
});
