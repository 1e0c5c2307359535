import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { UserError } from '../errors';

export type BinaryName = 'ffmpeg' | 'ffprobe';

export interface ResolvedBinary {
  name: BinaryName;
  path: string;
  /** Where it was found, in resolution order: an environment variable, the PATH, or an npm package. */
  source: 'env' | 'path' | 'bundled';
  /** Why this one was chosen, for `dashseg doctor`. */
  reason: string;
}

const ENV_VARIABLE: Record<BinaryName, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };
const BUNDLED_PACKAGE: Record<BinaryName, string> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

const cache = new Map<BinaryName, ResolvedBinary>();

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function bundledPath(name: BinaryName): string | undefined {
  let path: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    path = (require(BUNDLED_PACKAGE[name]) as { path: string }).path;
  } catch {
    return undefined;
  }
  if (isExecutableFile(path)) return path;
  // npm >= 11 skips install scripts it was not told to trust, and these packages' only script is `chmod u+x`.
  try {
    chmodSync(path, 0o755);
  } catch {
    return undefined;
  }
  return isExecutableFile(path) ? path : undefined;
}

/**
 * FFMPEG_PATH / FFPROBE_PATH first (an explicit choice must not be silently ignored), then the PATH (the user's own
 * build, usually newer and with hardware codecs), then the static build shipped inside an npm package so that
 * `npm ci` alone gives a working tool.
 */
export function resolveBinary(name: BinaryName): ResolvedBinary {
  const cached = cache.get(name);
  if (cached) return cached;
  const variable = ENV_VARIABLE[name];
  const fromEnv = process.env[variable];
  let resolved: ResolvedBinary | undefined;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutableFile(fromEnv)) {
      throw new UserError(`${variable} is set to ${fromEnv}, which is not an executable file`);
    }
    resolved = { name, path: fromEnv, source: 'env', reason: `${variable} is set` };
  }
  if (!resolved) {
    const onPath = findOnPath(name);
    if (onPath) resolved = { name, path: onPath, source: 'path', reason: `found on PATH (${variable} not set)` };
  }
  if (!resolved) {
    const bundled = bundledPath(name);
    if (bundled) {
      resolved = {
        name,
        path: bundled,
        source: 'bundled',
        reason: `static build from ${BUNDLED_PACKAGE[name]} (${variable} not set, none on PATH)`,
      };
    }
  }
  if (!resolved) {
    throw new UserError(
      `${name} not found: set ${variable}, put ${name} on PATH, or reinstall dashseg so that ${BUNDLED_PACKAGE[name]} is present`,
    );
  }
  cache.set(name, resolved);
  return resolved;
}

/**
 * The environment to run a binary in. The static builds bundled from npm carry their own glibc, whose iconv would
 * load the host's gconv modules and crash (ffprobe segfaults on every MPEG-TS input, whose service names it
 * converts); pointing GCONV_PATH nowhere makes iconv fail cleanly and ffmpeg fall back to the raw names.
 */
export function binaryEnv(binary: ResolvedBinary): NodeJS.ProcessEnv {
  return binary.source === 'bundled' ? { ...process.env, GCONV_PATH: '/nonexistent/dashseg-no-gconv' } : process.env;
}

/** First line of `<binary> -version`, e.g. "ffmpeg version 6.1.1 Copyright ...". */
export function binaryVersion(binary: ResolvedBinary): string {
  const out = execFileSync(binary.path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000, env: binaryEnv(binary) });
  return out.split('\n')[0]?.trim() ?? '';
}

/** For tests and `doctor`: forget what was resolved so that a changed environment is seen. */
export function clearBinaryCache(): void {
  cache.clear();
}
