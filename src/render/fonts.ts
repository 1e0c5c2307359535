import { GlobalFonts } from '@napi-rs/canvas';
import { dirname, join } from 'node:path';

/**
 * The family every label and HUD line is drawn in. The font ships in an npm package and is registered by path,
 * so text renders the same on a server with no system fonts at all.
 */
export const UI_FONT_FAMILY = 'dashseg-sans';

let registeredPath: string | undefined;

export function uiFontPath(): string {
  return join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans-Bold.ttf');
}

/** Registers the UI font once; returns the file it came from. */
export function ensureUiFont(): string {
  if (registeredPath) return registeredPath;
  const path = uiFontPath();
  if (!GlobalFonts.registerFromPath(path, UI_FONT_FAMILY)) {
    throw new Error(`could not load the UI font from ${path}`);
  }
  registeredPath = path;
  return path;
}
