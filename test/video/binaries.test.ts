import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from '../../src/errors';
import { binaryVersion, clearBinaryCache, resolveBinary } from '../../src/video/binaries';
import { tempDir } from '../support/media';

// The static builds shipped in npm packages, located independently of the code under test.
const BUNDLED_FFMPEG = join(__dirname, '..', '..', 'node_modules', '@ffmpeg-installer', 'linux-x64', 'ffmpeg');
const BUNDLED_FFPROBE = join(__dirname, '..', '..', 'node_modules', '@ffprobe-installer', 'linux-x64', 'ffprobe');

describe('resolveBinary', () => {
  const savedEnv = { ...process.env };
  let temp: ReturnType<typeof tempDir>;

  beforeEach(() => {
    temp = tempDir();
    delete process.env.FFMPEG_PATH;
    delete process.env.FFPROBE_PATH;
    clearBinaryCache();
  });

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    clearBinaryCache();
    temp.remove();
  });

  function fakeTool(dir: string, name: string): string {
    const path = join(dir, name);
    writeFileSync(path, '#!/bin/sh\necho "fake $0"\n');
    chmodSync(path, 0o755);
    return path;
  }

  test('FFMPEG_PATH naming a missing file is a UserError naming the variable and the path', () => {
    const missing = join(temp.path, 'no-ffmpeg-here');
    process.env.FFMPEG_PATH = missing;
    expect(() => resolveBinary('ffmpeg')).toThrow(UserError);
    expect(() => resolveBinary('ffmpeg')).toThrow(`FFMPEG_PATH is set to ${missing}`);
  });

  test('FFMPEG_PATH naming a file that is not executable is refused, not silently ignored', () => {
    const plain = join(temp.path, 'ffmpeg');
    writeFileSync(plain, 'just text');
    chmodSync(plain, 0o644);
    process.env.FFMPEG_PATH = plain;
    expect(() => resolveBinary('ffmpeg')).toThrow(UserError);
  });

  test('FFMPEG_PATH naming a directory is refused', () => {
    process.env.FFMPEG_PATH = temp.path;
    expect(() => resolveBinary('ffmpeg')).toThrow(UserError);
  });

  test('FFMPEG_PATH naming a real executable wins, even over one on PATH', () => {
    fakeTool(temp.path, 'ffmpeg');
    process.env.PATH = temp.path;
    process.env.FFMPEG_PATH = BUNDLED_FFMPEG;
    const resolved = resolveBinary('ffmpeg');
    expect(resolved).toMatchObject({ name: 'ffmpeg', path: BUNDLED_FFMPEG, source: 'env' });
    expect(binaryVersion(resolved)).toMatch(/^ffmpeg version /);
  });

  test('FFPROBE_PATH is the variable for ffprobe, and FFMPEG_PATH does not affect it', () => {
    process.env.PATH = '';
    process.env.FFMPEG_PATH = join(temp.path, 'missing');
    process.env.FFPROBE_PATH = BUNDLED_FFPROBE;
    expect(resolveBinary('ffprobe')).toMatchObject({ name: 'ffprobe', path: BUNDLED_FFPROBE, source: 'env' });
  });

  test('an executable named ffmpeg in a PATH directory is found there', () => {
    const empty = join(temp.path, 'empty');
    mkdirSync(empty);
    const bin = join(temp.path, 'bin');
    mkdirSync(bin);
    const script = fakeTool(bin, 'ffmpeg');
    process.env.PATH = ['', empty, bin].join(delimiter);
    const resolved = resolveBinary('ffmpeg');
    expect(resolved).toMatchObject({ name: 'ffmpeg', path: script, source: 'path' });
  });

  test('a non-executable ffmpeg on PATH is skipped', () => {
    const path = join(temp.path, 'ffmpeg');
    writeFileSync(path, 'not runnable');
    chmodSync(path, 0o644);
    process.env.PATH = temp.path;
    const resolved = resolveBinary('ffmpeg');
    expect(resolved.source).toBe('bundled');
  });

  test('with an empty PATH and no variable, the bundled static build is used and runs', () => {
    process.env.PATH = '';
    const ffmpeg = resolveBinary('ffmpeg');
    expect(ffmpeg.source).toBe('bundled');
    expect(realpathSync(ffmpeg.path)).toBe(realpathSync(BUNDLED_FFMPEG));
    expect(binaryVersion(ffmpeg)).toMatch(/^ffmpeg version /);
    const ffprobe = resolveBinary('ffprobe');
    expect(ffprobe.source).toBe('bundled');
    expect(realpathSync(ffprobe.path)).toBe(realpathSync(BUNDLED_FFPROBE));
  });

  test('results are cached until clearBinaryCache()', () => {
    process.env.PATH = '';
    expect(resolveBinary('ffmpeg').source).toBe('bundled');
    const script = fakeTool(temp.path, 'ffmpeg');
    process.env.PATH = temp.path;
    expect(resolveBinary('ffmpeg').source).toBe('bundled');
    clearBinaryCache();
    expect(resolveBinary('ffmpeg')).toMatchObject({ source: 'path', path: script });
  });
});
