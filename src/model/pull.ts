import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { UserError, errorMessage } from '../errors';
import { dashsegHome, packageRoot } from '../paths';
import { convertCheckpoint, MODEL_CONFIG_FILE, type ModelConfig } from './model-dir';

export interface ManifestEntry {
  description: string;
  url: string;
  file: string;
  /** The leading hex digits of the file's sha256, as torchvision names its files and torch.hub checks them. */
  sha256Prefix?: string;
  sha256?: string;
  license?: string;
  convert: { labels?: string; bnEps?: number; minSize?: number; maxSize?: number };
}

/** Where pulled and converted models live: $DASHSEG_HOME/models, by default ~/.cache/dashseg/models. */
export function modelCacheDir(): string {
  return join(dashsegHome(), 'models');
}

/** The shipped manifest (weights/manifest.json), or the one DASHSEG_MANIFEST names. */
export function readManifest(): Record<string, ManifestEntry> {
  const path = process.env.DASHSEG_MANIFEST ?? join(packageRoot(), 'weights', 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as { models: Record<string, ManifestEntry> };
  return manifest.models;
}

function download(url: string, destination: string, onProgress: (received: number, total: number | undefined) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = (current: string, redirects: number): void => {
      const get = current.startsWith('https:') ? httpsGet : httpGet;
      const req = get(current, { timeout: 30_000 }, (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status < 400 && response.headers.location && redirects < 5) {
          response.resume();
          request(new URL(response.headers.location, current).toString(), redirects + 1);
          return;
        }
        if (status !== 200) {
          response.resume();
          reject(new Error(`HTTP ${status}`));
          return;
        }
        const total = Number(response.headers['content-length']) || undefined;
        const hash = createHash('sha256');
        const file = createWriteStream(destination);
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          received += chunk.length;
          onProgress(received, total);
        });
        response.pipe(file);
        file.on('finish', () => resolve(hash.digest('hex')));
        file.on('error', reject);
        response.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    };
    request(url, 0);
  });
}

function manualSteps(name: string, entry: ManifestEntry, out: string): string {
  const options = [
    entry.convert.labels !== undefined ? `--labels ${entry.convert.labels}` : '',
    entry.convert.bnEps !== undefined ? `--bn-eps ${entry.convert.bnEps}` : '',
  ].filter((option) => option !== '');
  return `to install ${name} by hand, download ${entry.url} on a machine with internet access, copy ${entry.file} here and run: dashseg weights convert ${entry.file} --out ${out} ${options.join(' ')}`.trim();
}

/**
 * `dashseg weights pull <name>`: download a manifest checkpoint, verify its hash, convert it into the model cache.
 * Offline, it says exactly how to do the same by hand.
 */
export async function pullModel(
  name: string,
  onProgress: (received: number, total: number | undefined) => void = () => undefined,
): Promise<{ dir: string; config: ModelConfig; downloaded: boolean }> {
  const manifest = readManifest();
  const entry = manifest[name];
  if (!entry) throw new UserError(`unknown model "${name}" (known: ${Object.keys(manifest).join(', ')})`);
  const dir = join(modelCacheDir(), name);
  if (existsSync(join(dir, MODEL_CONFIG_FILE))) {
    return { dir, config: JSON.parse(readFileSync(join(dir, MODEL_CONFIG_FILE), 'utf8')) as ModelConfig, downloaded: false };
  }
  mkdirSync(modelCacheDir(), { recursive: true });
  const partial = join(modelCacheDir(), `${entry.file}.part`);
  let digest: string;
  try {
    digest = await download(entry.url, partial, onProgress);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new UserError(`cannot download ${entry.url} (${errorMessage(error)}); ${manualSteps(name, entry, dir)}`);
  }
  const expected = entry.sha256 ?? entry.sha256Prefix;
  if (expected !== undefined && !digest.startsWith(expected)) {
    rmSync(partial, { force: true });
    throw new UserError(`${entry.url}: sha256 ${digest} does not match the manifest's ${expected}; the download is damaged or not the published file`);
  }
  const checkpoint = join(modelCacheDir(), entry.file);
  renameSync(partial, checkpoint);
  const config = convertCheckpoint(checkpoint, { out: dir, ...entry.convert });
  return { dir, config, downloaded: true };
}
