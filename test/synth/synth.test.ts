import { loadImage, createCanvas } from '@napi-rs/canvas';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COCO_CATEGORIES } from '../../src/model/labels';
import { validateFrameRecord, type FrameRecord } from '../../src/output/frame-record';
import { decodeMask, encodeMaskCrop, rleArea } from '../../src/output/rle';
import { packageRoot } from '../../src/paths';
import { clipFrames, generateScene, groundTruthPath, writeClip, writeStillsDataset, SYNTH_CLASSES, type RenderedScene, type SceneInstance, type CocoDataset } from '../../src/synth';
import { encodePng } from '../../src/synth/png';
import { Random } from '../../src/synth/random';
import { fillPolygon, emptyBounds } from '../../src/synth/raster';
import { ActorFactory } from '../../src/synth/road-users';
import { createWorld } from '../../src/synth/street';
import { advanceWorld, isMover } from '../../src/synth/traffic';
import { maskIoU } from '../../src/track/mask-iou';
import { oneErrorLine, runCli } from '../support/cli';
import { framePts, probeStreams, tempDir } from '../support/media';

const WIDTH = 640;
const HEIGHT = 360;
const SCENES = 50;

/** The 50 scenes most tests look at, rendered once. */
const scenes: RenderedScene[] = [];
beforeAll(() => {
  for (let seed = 0; seed < SCENES; seed++) scenes.push(generateScene(seed, { width: WIDTH, height: HEIGHT }));
});

function paste(instance: SceneInstance, width: number, height: number): Uint8Array {
  const full = new Uint8Array(width * height);
  const { x, y, width: w, height: h, data } = instance.mask;
  for (let row = 0; row < h; row++) full.set(data.subarray(row * w, (row + 1) * w), (y + row) * width + x);
  return full;
}

/** The share of an instance's mask pixels that change when the scene is rendered without it. */
function shareDrawnUnderMask(seed: number, scene: RenderedScene, instance: SceneInstance): number {
  const without = generateScene(seed, { width: WIDTH, height: HEIGHT, omit: new Set([instance.id]) });
  expect(without.instances.some((other) => other.id === instance.id)).toBe(false);
  const { x, y, width, height, data } = instance.mask;
  let changed = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (data[r * width + c] === 0) continue;
      const at = ((y + r) * WIDTH + x + c) * 4;
      if (scene.image[at] !== without.image[at] || scene.image[at + 1] !== without.image[at + 1] || scene.image[at + 2] !== without.image[at + 2]) changed++;
    }
  }
  return changed / instance.area;
}

describe('synthetic scenes', () => {
  it('are the same for the same seed, byte for byte, and differ between seeds', () => {
    const again = generateScene(7, { width: WIDTH, height: HEIGHT });
    const first = scenes[7] as RenderedScene;
    expect(Buffer.from(again.image).equals(Buffer.from(first.image))).toBe(true);
    expect(again.instances).toEqual(first.instances);
    expect(Buffer.from((scenes[8] as RenderedScene).image).equals(Buffer.from(first.image))).toBe(false);
  });

  it('give every class and every time of day over 50 scenes, with varied counts', () => {
    const classes = new Set(scenes.flatMap((scene) => scene.instances.map((instance) => instance.label)));
    expect([...classes].sort()).toEqual([...SYNTH_CLASSES].sort());
    expect(new Set(scenes.map((scene) => scene.lighting))).toEqual(new Set(['day', 'dusk', 'night']));
    expect(new Set(scenes.map((scene) => scene.setting))).toEqual(new Set(['urban', 'suburban', 'rural']));
    const counts = scenes.map((scene) => scene.instances.length);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0) / SCENES).toBeGreaterThan(5);
    for (const scene of scenes) for (const instance of scene.instances) expect(COCO_CATEGORIES[instance.classId]).toBe(instance.label);
  });

  it('have exact masks: inside the image, boxes at the mask bounds, disjoint, RLE round trips', () => {
    let overlaps = 0;
    let miscounted = 0;
    for (const scene of scenes) {
      const owner = new Int32Array(WIDTH * HEIGHT);
      const ids = new Set<number>();
      for (const instance of scene.instances) {
        expect(ids.has(instance.id)).toBe(false);
        ids.add(instance.id);
        const { x, y, width, height, data } = instance.mask;
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(x + width).toBeLessThanOrEqual(WIDTH);
        expect(y + height).toBeLessThanOrEqual(HEIGHT);
        expect(instance.box).toEqual([x, y, x + width, y + height]);
        // The crop is tight: its first and last rows and columns each hold a mask pixel.
        const rowHas = (r: number): boolean => data.subarray(r * width, (r + 1) * width).some((v) => v !== 0);
        const columnHas = (c: number): boolean => Array.from({ length: height }, (_, r) => data[r * width + c]).some((v) => v !== 0);
        expect(rowHas(0) && rowHas(height - 1) && columnHas(0) && columnHas(width - 1)).toBe(true);
        let area = 0;
        for (let r = 0; r < height; r++) {
          for (let c = 0; c < width; c++) {
            if (data[r * width + c] === 0) continue;
            area++;
            const at = (y + r) * WIDTH + x + c;
            if (owner[at] !== 0) overlaps++;
            owner[at] = instance.id;
          }
        }
        if (instance.area !== area) miscounted++;
        expect(area).toBeGreaterThanOrEqual(30);
        expect(instance.ignore).toBe(area < 100);
      }
    }
    expect(overlaps).toBe(0);
    expect(miscounted).toBe(0);
    // RLE: a sample of masks decodes back to the very same pixels.
    for (const scene of scenes.slice(0, 10)) {
      for (const instance of scene.instances) {
        const rle = encodeMaskCrop(instance.mask, HEIGHT, WIDTH);
        expect(rle.size).toEqual([HEIGHT, WIDTH]);
        expect(rleArea(rle)).toBe(instance.area);
        expect(Buffer.from(decodeMask(rle)).equals(Buffer.from(paste(instance, WIDTH, HEIGHT)))).toBe(true);
      }
    }
  });

  it('draw each instance where its mask is: without the object, the pixels under its mask change', () => {
    let checked = 0;
    for (const seed of [0, 3, 11, 20, 33]) {
      const scene = scenes[seed] as RenderedScene;
      // The largest instance of each class in the scene.
      const largest = new Map<string, SceneInstance>();
      // Bicycles are outlined, not painted whole: the next test.
      for (const instance of scene.instances) {
        if (instance.label !== 'bicycle' && instance.area >= 60 && (largest.get(instance.label)?.area ?? 0) < instance.area) largest.set(instance.label, instance);
      }
      for (const instance of largest.values()) {
        expect(shareDrawnUnderMask(seed, scene, instance)).toBeGreaterThan(0.9);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(8);
  });

  it('outline bicycles as COCO annotators do: wheels whole, with the road seen through them', () => {
    const bicycles = scenes.flatMap((scene, seed) => scene.instances.filter((instance) => instance.label === 'bicycle' && instance.area >= 150).map((instance) => ({ seed, scene, instance })));
    expect(bicycles.length).toBeGreaterThan(5);
    const fills = bicycles.map(({ instance }) => instance.area / ((instance.box[2] - instance.box[0]) * (instance.box[3] - instance.box[1])));
    fills.sort((a, b) => a - b);
    // Tubes and tyres alone cover about a fifth of a bicycle's box; the outline, with the wheels, twice that.
    expect(fills[Math.floor(fills.length / 2)]).toBeGreaterThan(0.35);
    // Yet much of the mask is not painted by the bicycle: without it, the road seen through the wheels stays as it was.
    const { seed, scene, instance } = bicycles.reduce((a, b) => (b.instance.area > a.instance.area ? b : a));
    const drawn = shareDrawnUnderMask(seed, scene, instance);
    expect(drawn).toBeGreaterThan(0.2);
    expect(drawn).toBeLessThan(0.8);
  });

  it('rasterizes polygons at pixel centres', () => {
    const target = new Uint16Array(8 * 8);
    const bounds = emptyBounds();
    // A square from 1.4 to 4.6 covers the centres 1.5 .. 4.5: columns and rows 1 to 4.
    fillPolygon(target, 8, 8, [1.4, 1.4, 4.6, 1.4, 4.6, 4.6, 1.4, 4.6], 3, bounds);
    expect(bounds).toEqual({ x0: 1, y0: 1, x1: 4, y1: 4 });
    expect(target.filter((v) => v === 3)).toHaveLength(16);
  });

  it('writes PNGs that decode to the rendered pixels', async () => {
    const scene = scenes[1] as RenderedScene;
    const image = await loadImage(encodePng(scene.image, WIDTH, HEIGHT));
    const canvas = createCanvas(WIDTH, HEIGHT);
    canvas.getContext('2d').drawImage(image, 0, 0);
    const decoded = canvas.getContext('2d').getImageData(0, 0, WIDTH, HEIGHT).data;
    expect(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).equals(Buffer.from(scene.image))).toBe(true);
  });
});

describe('synthetic clips', () => {
  it('keep ids across frames, and objects enter and leave', () => {
    const frames = [...clipFrames({ seconds: 8, fps: 5, seed: 4, width: 480, height: 270 })];
    expect(frames).toHaveLength(40);
    let matched = 0;
    let same = 0;
    for (let t = 1; t < frames.length; t++) {
      const before = (frames[t - 1] as (typeof frames)[number]).instances;
      for (const instance of (frames[t] as (typeof frames)[number]).instances) {
        let best: SceneInstance | undefined;
        let bestIoU = 0;
        for (const candidate of before) {
          const iou = maskIoU(candidate.mask, instance.mask);
          if (iou > bestIoU) [best, bestIoU] = [candidate, iou];
        }
        if (best && bestIoU >= 0.6) {
          matched++;
          if (best.id === instance.id) same++;
        }
      }
    }
    // Heavy overlap between frames is the same object, bar two people walking side by side far away.
    expect(matched).toBeGreaterThan(50);
    expect(same / matched).toBeGreaterThan(0.97);
    const first = new Set((frames[0] as (typeof frames)[number]).instances.map((i) => i.id));
    const last = new Set((frames[frames.length - 1] as (typeof frames)[number]).instances.map((i) => i.id));
    expect([...last].some((id) => !first.has(id))).toBe(true);
    expect([...first].some((id) => !last.has(id))).toBe(true);
  });

  it('write an mp4 whose frames match the ground truth lines one to one', async () => {
    const dir = tempDir();
    try {
      const output = join(dir.path, 'drive.mp4');
      const summary = await writeClip({ output, seconds: 2, fps: 10, seed: 5, width: 320, height: 180 });
      const json = groundTruthPath(output);
      expect(json).toBe(join(dir.path, 'drive.gt.jsonl'));
      const lines = readFileSync(json, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(20);
      expect(summary.frames).toBe(20);
      const video = probeStreams(output).streams.find((s) => s.codec_type === 'video');
      expect(video?.codec_name).toBe('h264');
      expect(Number(video?.nb_read_frames)).toBe(lines.length);
      const pts = framePts(output);
      lines.forEach((line, index) => {
        const record = JSON.parse(line) as FrameRecord;
        expect(validateFrameRecord(record)).toEqual([]);
        expect(record).toMatchObject({ source: output, frame: index, width: 320, height: 180, inferred: true });
        expect(Math.abs(record.pts - (pts[index] as number))).toBeLessThan(1e-3);
        for (const instance of record.instances) {
          expect(instance.score).toBe(1);
          expect(typeof instance.id).toBe('number');
          expect(instance.ignore).toBe(rleArea(instance.mask) < 100 ? true : undefined);
        }
      });
    } finally {
      dir.remove();
    }
  });
});

describe('synthetic traffic', () => {
  it('the camera car yields to a pedestrian crossing towards its path, before the pedestrian is in it', () => {
    // A town street, the camera car at 12 m/s, and someone 22 m ahead stepping off 3.5 m to the side of its path.
    const world = createWorld(11, { width: 480, height: 270, purpose: 'clip', density: 0 });
    world.actors = world.actors.filter((actor) => !isMover(actor));
    world.egoSpeed = world.egoDesiredSpeed = 12;
    const pedestrian = new ActorFactory(world, new Random(1)).person(world.egoS + 22, world.egoX - 3.5, Math.PI / 2, 1.3, 'cross');
    const random = new Random(2);
    let nearestInPath = Infinity;
    let slowest = world.egoSpeed;
    for (let t = 0; t < 10; t += 0.04) {
      advanceWorld(world, 0.04, random);
      if (Math.abs(pedestrian.x - world.egoX) < 1.6) nearestInPath = Math.min(nearestInPath, pedestrian.s - world.egoS);
      slowest = Math.min(slowest, world.egoSpeed);
    }
    // Braking only once the pedestrian was in its path, the camera car could not stop and drove through them.
    expect(nearestInPath).toBeGreaterThan(5);
    expect(slowest).toBeLessThan(3);
    // ...and then the pedestrian walked on across and the car drove on.
    expect(pedestrian.x).toBeGreaterThan(world.egoX + 1.6);
    expect(world.egoSpeed).toBeGreaterThan(3);
  });
});

/** Pids of the stills renderers `parent` has started (from /proc: the process table, as ps reads it). */
function renderersOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // "pid (command) state ppid ...": the command may hold spaces and parentheses, so count from the last ')'.
        const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parentPid === parent && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z') && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('stills-worker');
      } catch {
        return false; // it ended while being looked at
      }
    })
    .map(Number);
}

function isRunning(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

describe('dashseg synth', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('stills: writes a COCO dataset, the same with rendering processes as without', async () => {
    const out = join(dir.path, 'cli-stills');
    const result = await runCli(['synth', 'stills', '--out', out, '--count', '5', '--seed', '9', '--width', '320', '--height', '180', '--workers', '2']);
    expect(result.stderr).toMatch(/5 images 320x180/);
    expect(result.code).toBe(0);
    const text = readFileSync(join(out, 'annotations.json'), 'utf8');
    const dataset = JSON.parse(text) as CocoDataset;
    expect(dataset.images.map((image) => image.file_name)).toEqual(['images/000000.png', 'images/000001.png', 'images/000002.png', 'images/000003.png', 'images/000004.png']);
    expect(dataset.categories.map((c) => [c.id, c.name])).toEqual([[1, 'person'], [2, 'bicycle'], [3, 'car'], [4, 'motorcycle'], [6, 'bus'], [8, 'truck'], [10, 'traffic light'], [13, 'stop sign']]);
    for (const image of dataset.images) expect(existsSync(join(out, image.file_name))).toBe(true);
    // Objects under 100 visible pixels are ignore regions: crowd for COCO, marked so that they can be scored again.
    expect(dataset.annotations.some((annotation) => annotation.area < 100)).toBe(true);
    dataset.annotations.forEach((annotation, k) => {
      expect(annotation.id).toBe(k + 1);
      expect([annotation.iscrowd, annotation.ignore]).toEqual(annotation.area < 100 ? [1, true] : [0, undefined]);
      const mask = decodeMask(annotation.segmentation);
      expect(annotation.segmentation.size).toEqual([180, 320]);
      let area = 0;
      let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
      mask.forEach((v, i) => {
        if (!v) return;
        area++;
        const x = i % 320;
        const y = Math.floor(i / 320);
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      });
      expect(annotation.area).toBe(area);
      expect(annotation.bbox).toEqual([x0, y0, x1 - x0 + 1, y1 - y0 + 1]);
    });
    // The library on this thread writes the very same dataset.
    const again = join(dir.path, 'lib-stills');
    await writeStillsDataset({ out: again, count: 5, seed: 9, width: 320, height: 180, workers: 0 });
    expect(readFileSync(join(again, 'annotations.json'), 'utf8')).toBe(text);
    expect(readFileSync(join(again, 'images/000003.png')).equals(readFileSync(join(out, 'images/000003.png')))).toBe(true);
    // --ignore-area 0 scores every object: the same annotations, none of them crowd.
    const all = join(dir.path, 'all-scored');
    expect((await runCli(['synth', 'stills', '--out', all, '--count', '5', '--seed', '9', '--width', '320', '--height', '180', '--ignore-area', '0'])).code).toBe(0);
    const scored = (JSON.parse(readFileSync(join(all, 'annotations.json'), 'utf8')) as CocoDataset).annotations;
    expect(scored.map(({ iscrowd, ignore, ...rest }) => [iscrowd, ignore, rest])).toEqual(
      dataset.annotations.map(({ iscrowd: _crowd, ignore: _ignore, ...rest }) => [0, undefined, rest]),
    );
  });

  it('stills: renders in child processes, which end when the dataset is written, when writing fails and with their parent', async () => {
    let most = 0;
    await writeStillsDataset({ out: join(dir.path, 'procs'), count: 6, seed: 9, width: 320, height: 180, workers: 2, onImage: () => (most = Math.max(most, renderersOf(process.pid).length)) });
    expect(most).toBe(2);
    expect(renderersOf(process.pid)).toEqual([]);

    // A directory where the third image should go: writing it fails, and the processes still end.
    const blocked = join(dir.path, 'blocked');
    mkdirSync(join(blocked, 'images', '000002.png'), { recursive: true });
    await expect(writeStillsDataset({ out: blocked, count: 6, seed: 9, width: 320, height: 180, workers: 2 })).rejects.toThrow(/000002\.png: cannot write/);
    expect(renderersOf(process.pid)).toEqual([]);

    // A parent killed outright cannot end them: they leave when their channel to it closes.
    const script = `require(${JSON.stringify(join(packageRoot(), 'dist', 'src', 'synth', 'dataset.js'))}).writeStillsDataset({ out: ${JSON.stringify(join(dir.path, 'orphans'))}, count: 400, seed: 9, workers: 2 })`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    let orphans: number[] = [];
    for (const deadline = Date.now() + 20_000; orphans.length < 2 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      orphans = renderersOf(parent.pid as number);
    }
    expect(orphans).toHaveLength(2);
    parent.kill('SIGKILL');
    for (const deadline = Date.now() + 10_000; orphans.some(isRunning) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(orphans.filter(isRunning)).toEqual([]);
  });

  it('clip: writes the video and its ground truth next to it', async () => {
    const out = join(dir.path, 'clip.mp4');
    const result = await runCli(['synth', 'clip', '--out', out, '--seconds', '1', '--fps', '10', '--width', '320', '--height', '180', '--seed', '2']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/10 frames/);
    expect(readFileSync(join(dir.path, 'clip.gt.jsonl'), 'utf8').trim().split('\n')).toHaveLength(10);
    expect(existsSync(out)).toBe(true);
  });

  it.each([
    [['synth', 'stills', '--out', 'x'], /needs --count/],
    [['synth', 'stills', '--out', 'x', '--count', '0'], /--count must be/],
    [['synth', 'clip', '--out', 'x.mp4', '--seconds', '-2'], /--seconds must be/],
    [['synth', 'clip', '--out', 'x.mp4', '--seconds', '2', '--width', '321'], /--width must be/],
    [['synth', 'movie', '--out', 'x'], /unknown kind/],
    [['synth', 'stills', '--out', 'x', '--count', '3', '--lighting', 'noon'], /--lighting must be/],
    [['synth', 'stills', '--count', '3'], /out/],
  ])('rejects %j with one line', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(oneErrorLine(result.stderr)).toMatch(message);
  });
});
