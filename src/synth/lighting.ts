/**
 * Time of day: the sky, how much light falls on surfaces, and which lamps are on. Painters give base colours as
 * they would look in daylight and ask the lighting for what the camera sees.
 */
import type { Random } from './random';

export type Rgb = [number, number, number];

export const LIGHTING_MODES = ['day', 'dusk', 'night'] as const;
export type LightingMode = (typeof LIGHTING_MODES)[number];

export interface Lighting {
  mode: LightingMode;
  /** Multiplier for surface colours, per channel. */
  ambient: Rgb;
  /** Sky from the top of the image (0) to the horizon (1). */
  sky: { at: number; color: Rgb }[];
  /** Vehicles drive with lights on, street lamps burn, windows are lit. */
  lightsOn: boolean;
  /** Share of building and bus windows lit at night. */
  windowsLit: number;
  /** Standard deviation of the sensor noise, in 8-bit levels. */
  noise: number;
  /** Hazy air fades distant things to this colour. */
  haze: Rgb;
}

export function createLighting(mode: LightingMode, random: Random): Lighting {
  const jitter = (base: Rgb, amount: number): Rgb => base.map((c) => c * (1 + random.range(-amount, amount))) as Rgb;
  switch (mode) {
    case 'day': {
      const overcast = random.chance(0.25);
      const level = random.range(0.85, 1.08);
      const top: Rgb = overcast ? [150, 155, 165] : [60, 120, 200];
      const bottom: Rgb = overcast ? [205, 208, 212] : [175, 205, 235];
      return {
        mode,
        ambient: jitter(overcast ? [0.82, 0.84, 0.88] : [level, level, level * 0.98], 0.04),
        sky: [
          { at: 0, color: jitter(top, 0.08) },
          { at: 1, color: jitter(bottom, 0.05) },
        ],
        lightsOn: random.chance(0.1),
        windowsLit: 0,
        noise: random.range(1, 3.5),
        haze: bottom,
      };
    }
    case 'dusk':
      return {
        mode,
        ambient: jitter([0.62, 0.5, 0.5], 0.12),
        sky: [
          { at: 0, color: jitter([45, 55, 115], 0.15) },
          { at: 0.55, color: jitter([190, 110, 110], 0.15) },
          { at: 1, color: jitter([250, 170, 95], 0.08) },
        ],
        lightsOn: random.chance(0.8),
        windowsLit: random.range(0.2, 0.5),
        noise: random.range(2, 4.5),
        haze: [200, 140, 110],
      };
    case 'night':
      return {
        mode,
        ambient: jitter([0.17, 0.18, 0.25], 0.2),
        sky: [
          { at: 0, color: jitter([4, 6, 16], 0.3) },
          { at: 1, color: jitter([28, 30, 52], 0.25) },
        ],
        lightsOn: true,
        windowsLit: random.range(0.3, 0.6),
        noise: random.range(3, 6.5),
        haze: [30, 32, 50],
      };
  }
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

export function css([r, g, b]: Readonly<Rgb>, alpha = 1): string {
  return alpha >= 1 ? `rgb(${clamp(r)},${clamp(g)},${clamp(b)})` : `rgba(${clamp(r)},${clamp(g)},${clamp(b)},${alpha.toFixed(3)})`;
}

/** A surface of base colour `color` under the scene's light; `shade` darkens faces turned from the light. */
export function lit(lighting: Lighting, color: Readonly<Rgb>, shade = 1): Rgb {
  const [ar, ag, ab] = lighting.ambient;
  return [color[0] * ar * shade, color[1] * ag * shade, color[2] * ab * shade];
}

/** Mixes `color` towards the haze colour with the share `amount` (0..1). */
export function hazed(lighting: Lighting, color: Readonly<Rgb>, amount: number): Rgb {
  const t = Math.max(0, Math.min(1, amount));
  const [hr, hg, hb] = lighting.haze;
  return [color[0] + (hr - color[0]) * t, color[1] + (hg - color[1]) * t, color[2] + (hb - color[2]) * t];
}
