/**
 * Appearance draws: what a car, a truck, a bus, a bicycle, a motorcycle or a person looks like. Colours come from
 * palettes of what is common on real roads, jittered so no two instances are quite the same.
 */
import type { Rgb } from './lighting';
import type { Random } from './random';
import type { PersonLook, TwoWheelerLook, VehicleLook } from './world';

const CAR_COLORS: Rgb[] = [
  [235, 235, 235], [240, 240, 236], [180, 184, 190], [160, 163, 168], [110, 112, 118], [70, 72, 78], [25, 25, 28], [32, 32, 36],
  [165, 25, 25], [115, 20, 28], [30, 60, 140], [25, 40, 90], [90, 130, 180], [30, 70, 45], [190, 175, 140], [215, 175, 30],
  [205, 95, 30], [95, 62, 42], [120, 135, 95], [60, 110, 120],
];
const CARGO_COLORS: Rgb[] = [[235, 235, 232], [225, 225, 225], [200, 200, 195], [40, 90, 160], [170, 30, 30], [40, 110, 60], [230, 180, 40], [90, 90, 95]];
const BUS_COLORS: Rgb[] = [[235, 235, 230], [190, 30, 30], [40, 80, 160], [40, 130, 80], [240, 200, 40], [225, 225, 225]];
const SKIN: Rgb[] = [[255, 222, 190], [241, 196, 160], [224, 172, 130], [198, 140, 100], [160, 110, 75], [120, 80, 55], [88, 58, 40]];
const HAIR: Rgb[] = [[20, 18, 16], [45, 32, 22], [85, 60, 40], [150, 110, 60], [210, 180, 120], [130, 130, 130], [200, 200, 200], [140, 60, 30]];
const CLOTHES: Rgb[] = [
  [20, 20, 22], [240, 240, 240], [120, 120, 125], [40, 50, 90], [180, 30, 40], [30, 100, 60], [220, 180, 40], [200, 90, 30],
  [100, 60, 130], [60, 140, 190], [230, 120, 150], [140, 100, 70], [80, 90, 60], [250, 230, 200],
];
const TROUSERS: Rgb[] = [[45, 60, 100], [35, 45, 75], [20, 20, 24], [90, 90, 95], [170, 150, 110], [100, 80, 60], [60, 70, 50]];

export function jitter(random: Random, color: Readonly<Rgb>, amount = 0.08): Rgb {
  const k = 1 + random.range(-amount, amount);
  return [color[0] * k + random.range(-6, 6), color[1] * k + random.range(-6, 6), color[2] * k + random.range(-6, 6)];
}

export type VehicleKind = 'car' | 'truck' | 'bus';

export function vehicleLook(random: Random, kind: VehicleKind): VehicleLook {
  if (kind === 'car') {
    const model = random.weighted({ sedan: 0.4, hatchback: 0.27, suv: 0.23, van: 0.1 });
    const dims = {
      sedan: [random.range(4.4, 4.95), random.range(1.74, 1.86), random.range(1.38, 1.5), 0.32, 0.15],
      hatchback: [random.range(3.7, 4.25), random.range(1.66, 1.78), random.range(1.42, 1.56), 0.31, 0.15],
      suv: [random.range(4.4, 4.9), random.range(1.8, 1.95), random.range(1.65, 1.85), 0.37, 0.2],
      van: [random.range(4.8, 5.2), random.range(1.85, 1.95), random.range(1.75, 1.95), 0.34, 0.17],
    }[model];
    const color = jitter(random, random.pick(CAR_COLORS));
    return { model, length: dims[0] as number, width: dims[1] as number, height: dims[2] as number, wheelRadius: dims[3] as number, clearance: dims[4] as number, color, trim: color };
  }
  if (kind === 'truck') {
    const semi = random.chance(0.35);
    const cab = jitter(random, random.pick([...CARGO_COLORS, ...CAR_COLORS.slice(0, 12)]));
    return {
      model: semi ? 'semi' : 'box-truck',
      length: semi ? random.range(14, 16.5) : random.range(6.5, 8.8),
      width: random.range(2.35, 2.55),
      height: semi ? random.range(3.8, 4.1) : random.range(3.0, 3.6),
      wheelRadius: 0.5,
      clearance: 0.45,
      color: cab,
      trim: jitter(random, random.pick(CARGO_COLORS), 0.05),
    };
  }
  const model = random.weighted({ 'city-bus': 0.55, coach: 0.25, 'school-bus': 0.2 });
  const color = model === 'school-bus' ? jitter(random, [240, 185, 20], 0.05) : jitter(random, random.pick(BUS_COLORS), 0.05);
  return {
    model,
    length: model === 'school-bus' ? random.range(9.5, 11) : model === 'coach' ? random.range(12, 13.2) : random.range(10.5, 12.5),
    width: random.range(2.45, 2.55),
    height: model === 'coach' ? random.range(3.4, 3.7) : random.range(2.95, 3.2),
    wheelRadius: 0.5,
    clearance: 0.32,
    color,
    trim: jitter(random, random.pick(BUS_COLORS), 0.05),
  };
}

export function bicycleLook(random: Random): TwoWheelerLook {
  const child = random.chance(0.12);
  return {
    length: child ? random.range(1.25, 1.4) : random.range(1.68, 1.8),
    wheelRadius: child ? random.range(0.24, 0.28) : random.range(0.32, 0.35),
    color: jitter(random, random.pick(CLOTHES)),
    trim: [30, 30, 30],
  };
}

export function motorcycleLook(random: Random): TwoWheelerLook {
  return {
    length: random.range(1.95, 2.25),
    wheelRadius: random.range(0.29, 0.33),
    color: jitter(random, random.pick(CAR_COLORS)),
    trim: jitter(random, random.pick([[25, 25, 28], [180, 30, 30], [30, 30, 120], [200, 200, 200]] as Rgb[])),
  };
}

export function personLook(random: Random, rider: 'bicycle' | 'motorcycle' | null): PersonLook {
  const child = rider !== 'motorcycle' && random.chance(0.1);
  const legs = random.weighted({ trousers: 0.7, shorts: 0.15, skirt: 0.15 });
  return {
    height: child ? random.range(1.1, 1.45) : random.range(1.55, 1.95),
    build: random.range(0.23, 0.29),
    skin: jitter(random, random.pick(SKIN), 0.04),
    hair: jitter(random, random.pick(HAIR), 0.05),
    top: jitter(random, random.pick(CLOTHES)),
    bottom: jitter(random, legs === 'trousers' ? random.pick(TROUSERS) : random.pick(CLOTHES)),
    shoes: jitter(random, random.pick([[25, 25, 25], [235, 235, 235], [90, 60, 40], [60, 60, 70]] as Rgb[])),
    legs,
    longSleeves: random.chance(0.6),
    helmet: rider === 'motorcycle' || (rider === 'bicycle' && random.chance(0.5)) ? jitter(random, random.pick(CLOTHES)) : null,
  };
}
