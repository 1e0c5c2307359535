import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { describeBackend, selectBackend } from '../../model/backend';
import { errorMessage } from '../../errors';
import { packageRoot } from '../../paths';
import { ensureUiFont } from '../../render/fonts';
import { binaryVersion, resolveBinary, type BinaryName } from '../../video/binaries';
import type { CliContext } from '../context';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

function binaryCheck(name: BinaryName): Check {
  try {
    const binary = resolveBinary(name);
    return { name, ok: true, detail: `${binary.path}\n    ${binary.reason}\n    ${binaryVersion(binary)}` };
  } catch (error) {
    return { name, ok: false, detail: errorMessage(error) };
  }
}

function encoderCheck(): Check {
  try {
    const encoders = execFileSync(resolveBinary('ffmpeg').path, ['-hide_banner', '-encoders'], { encoding: 'utf8' });
    const ok = /\blibx264\b/.test(encoders);
    return { name: 'libx264', ok, detail: ok ? 'H.264 encoder available' : 'this ffmpeg has no libx264: annotated videos cannot be written' };
  } catch (error) {
    return { name: 'libx264', ok: false, detail: errorMessage(error) };
  }
}

function packageVersion(name: string): string {
  const requireHere = createRequire(__filename);
  return (requireHere(`${name}/package.json`) as { version: string }).version;
}

function canvasCheck(): Check {
  try {
    const font = ensureUiFont();
    return { name: 'canvas', ok: true, detail: `@napi-rs/canvas ${packageVersion('@napi-rs/canvas')} (prebuilt, node-canvas API), font ${basename(font)} from dejavu-fonts-ttf` };
  } catch (error) {
    return { name: 'canvas', ok: false, detail: errorMessage(error) };
  }
}

async function backendCheck(): Promise<Check> {
  try {
    return { name: 'backend', ok: true, detail: describeBackend(await selectBackend()) };
  } catch (error) {
    return { name: 'backend', ok: false, detail: errorMessage(error) };
  }
}

/** Which ffmpeg, ffprobe, inference backend and canvas dashseg would use here, and why. Non-zero if one is unusable. */
export async function doctorCommand(context: CliContext): Promise<number> {
  const version = packageVersion(packageRoot());
  context.stdout.write(`dashseg ${version} (node ${process.version}, ${process.platform} ${process.arch})\n`);
  const checks = [binaryCheck('ffmpeg'), binaryCheck('ffprobe'), encoderCheck(), canvasCheck(), await backendCheck()];
  for (const check of checks) {
    context.stdout.write(`${check.ok ? 'ok ' : 'BAD'} ${check.name.padEnd(8)} ${check.detail}\n`);
  }
  return checks.every((check) => check.ok) ? 0 : 1;
}
