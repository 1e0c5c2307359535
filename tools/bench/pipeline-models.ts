/**
 * The models the pipeline benchmark measures: the seeded torchvision ResNet-18-FPN Mask R-CNN, built and calibrated
 * by tools/bench/torchvision_resnet18.py when torchvision is installed, and the test suite's tiny parity model; both
 * converted as a user's checkpoint is.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertCheckpoint } from '../../src/model/model-dir';
import { packageRoot } from '../../src/paths';
import { i420ToRgb } from '../../src/video/color';
import type { VideoInfo } from '../../src/video/probe';
import type { ClipFrame } from './pipeline-clip';
import { INSTANCES } from './pipeline-settings';

export const PYTHON = '/usr/bin/python3';
const TINY_CHECKPOINT = join(packageRoot(), 'test', 'fixtures', 'maskrcnn', 'tiny.pt');
const TINY_LABELS = join(packageRoot(), 'test', 'fixtures', 'maskrcnn', 'labels.txt');

export interface BenchModel {
  name: string;
  dir: string;
  /** What the table says about it: architecture, sizes, weights. */
  description: string;
  /** Frames per end-to-end run: enough that start-up and drain are small, few enough that a round stays short. */
  frames: number;
}

export function hasTorchvision(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status === 0;
}

export interface Resnet18Build {
  model: BenchModel;
  versions: string;
  carBias: number;
}

/**
 * The seeded ResNet-18-FPN Mask R-CNN (tools/bench/torchvision_resnet18.py), its car score calibrated on the clip's
 * first frame to give about INSTANCES detections at SCORE, converted like a user's checkpoint.
 */
export function buildResnet18(work: string, info: VideoInfo, first: ClipFrame): Resnet18Build {
  const rgb = join(work, 'frame0.rgb');
  writeFileSync(rgb, i420ToRgb(first.data, info.width, info.height));
  const checkpoint = join(work, 'maskrcnn_resnet18_fpn.pt');
  const script = join(packageRoot(), 'tools', 'bench', 'torchvision_resnet18.py');
  const sizes = [Math.min(info.width, info.height), Math.max(info.width, info.height)];
  const args = [script, checkpoint, rgb, String(info.width), String(info.height), ...sizes.map(String), String(INSTANCES)];
  const out = JSON.parse(execFileSync(PYTHON, args, { encoding: 'utf8' }).trim().split('\n').pop() as string) as {
    torch: string;
    torchvision: string;
    parameters: number;
    carBias: number;
  };
  const dir = join(work, 'resnet18');
  convertCheckpoint(checkpoint, { out: dir, labels: 'coco', minSize: sizes[0], maxSize: sizes[1] });
  return {
    model: {
      name: 'ResNet-18-FPN',
      dir,
      description: `Mask R-CNN ResNet-18-FPN, ${(out.parameters / 1e6).toFixed(1)} M parameters, input ${info.width}x${info.height} (min ${sizes[0]}, max ${sizes[1]})`,
      frames: 4,
    },
    versions: `torchvision ${out.torchvision} / torch ${out.torch}`,
    carBias: out.carBias,
  };
}

/** The test suite's parity model: tiny, random, and so fast that everything around it weighs the most. */
export function buildTiny(work: string): BenchModel {
  const dir = join(work, 'tiny');
  convertCheckpoint(TINY_CHECKPOINT, { out: dir, labels: TINY_LABELS, minSize: 96, maxSize: 160 });
  return { name: 'tiny (test fixture)', dir, description: 'the 83 k-parameter parity model of test/fixtures, input 96x160', frames: 50 };
}
