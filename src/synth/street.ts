/**
 * The street a scene happens on, random but plausible: the road (lanes, markings, sidewalks, cross streets), the
 * camera rig and skyline, and the street furniture beside and over the road (lamps, poles, trees, direction signs,
 * buildings, traffic lights and stop signs at intersections). createWorld puts a world together from these, the
 * lighting and the road users that road-users.ts places. Everything is drawn from generators seeded by the world's
 * seed.
 */
import { createLighting, LIGHTING_MODES, type LightingMode, type Rgb } from './lighting';
import { jitter } from './looks';
import { hashSeed, Random } from './random';
import { ActorFactory, populate } from './road-users';
import {
  roadEdges,
  type BuildingActor,
  type CameraRig,
  type Intersection,
  type RoadLayout,
  type Setting,
  type SkylineShape,
  type World,
} from './world';

export interface LayoutOptions {
  width: number;
  height: number;
  /** Time of day; drawn at random (half day, a fifth dusk, the rest night) when absent. */
  lighting?: LightingMode;
  setting?: Setting;
  /** Scales how many road users there are (1: typical). */
  density?: number;
  /** Metres of road ahead to furnish: a still needs ~250, a clip that plus the distance driven. */
  extent?: number;
  /** Camera blur and motion: stills get occasional blur, clips a swaying camera. */
  purpose?: 'still' | 'clip';
}

const SETTINGS: Record<Setting, number> = { urban: 0.45, suburban: 0.35, rural: 0.2 };

export function pickLighting(random: Random): LightingMode {
  return random.weighted({ day: 0.5, dusk: 0.2, night: 0.3 });
}

function roadLayout(random: Random, setting: Setting, extent: number, seed: number): RoadLayout {
  const laneWidth = random.range(3.1, 3.8);
  const lanesAhead = Number(setting === 'rural' ? random.weighted({ 1: 0.75, 2: 0.25 }) : random.weighted({ 1: 0.35, 2: 0.45, 3: 0.2 }));
  const oneWay = setting === 'urban' && random.chance(0.15);
  const lanesOncoming = oneWay ? 0 : setting === 'rural' ? 1 : Number(random.weighted({ 1: 0.5, 2: 0.4, 3: 0.1 }));
  const urbanish = setting !== 'rural';
  const parking = (): number => (urbanish && random.chance(0.55) ? random.range(2.1, 2.5) : random.range(0.2, 1.2));
  const sidewalk = (): number => (setting === 'urban' ? random.range(2.5, 4.5) : setting === 'suburban' ? (random.chance(0.8) ? random.range(1.6, 2.6) : 0) : 0);
  // Things along the road come from streams of their own, drawn in order along it: a longer road (a longer clip)
  // only adds to the far end and changes nothing nearer.
  const intersections: Intersection[] = [];
  const along = new Random(hashSeed(seed, 10));
  const spacing = setting === 'urban' ? [45, 110] : setting === 'suburban' ? [70, 180] : [120, 400];
  let s = along.range(12, spacing[0] as number);
  while (s < extent) {
    const control = setting === 'rural' ? along.weighted({ stop: 0.5, none: 0.5 }) : along.weighted({ lights: 0.55, stop: 0.3, none: 0.15 });
    intersections.push({ s, width: along.range(8, 14), control, crosswalk: setting !== 'rural' && along.chance(0.75) });
    s += along.range(spacing[0] as number, spacing[1] as number);
  }
  const asphaltLevel = random.range(70, 110);
  const patches: RoadLayout['patches'] = [];
  const edges = { left: -lanesOncoming * laneWidth, right: lanesAhead * laneWidth };
  const patching = new Random(hashSeed(seed, 11));
  for (let p = patching.range(0, 20); p < extent; p += patching.range(5, 30)) {
    const x0 = patching.range(edges.left, edges.right - 1);
    patches.push([p, p + patching.range(1, 8), x0, Math.min(edges.right, x0 + patching.range(0.8, 4)), patching.range(0.75, 1.2)]);
  }
  return {
    setting,
    laneWidth,
    lanesAhead,
    lanesOncoming,
    centreLine: random.weighted({ 'double-yellow': 0.45, 'dashed-yellow': 0.2, 'dashed-white': 0.3, none: 0.05 }),
    dashLength: random.range(2.5, 4),
    dashGap: random.range(5, 9),
    paint: random.range(0.45, 1),
    parkingLeft: lanesOncoming === 0 || random.chance(0.6) ? parking() : random.range(0.2, 0.8),
    parkingRight: parking(),
    sidewalkLeft: sidewalk(),
    sidewalkRight: sidewalk(),
    verge: setting === 'urban' ? 'dirt' : random.weighted({ grass: 0.7, dirt: 0.2, sand: 0.1 }),
    intersections,
    asphalt: [asphaltLevel, asphaltLevel + random.range(-2, 3), asphaltLevel + random.range(0, 6)],
    sidewalk: jitter(random, [165, 163, 158], 0.08),
    vergeColor: jitter(random, setting === 'urban' ? [120, 112, 100] : random.pick([[85, 120, 55], [105, 130, 60], [130, 115, 85], [170, 155, 115]] as Rgb[]), 0.1),
    yellow: jitter(random, [225, 180, 40], 0.06),
    patches,
  };
}

function cameraRig(random: Random, width: number, purpose: 'still' | 'clip'): CameraRig {
  return {
    focal: width * random.range(0.72, 1.05),
    elevation: random.range(1.2, 1.65),
    horizon: random.range(0.4, 0.54),
    yaw: random.range(-0.05, 0.05),
    offset: random.range(-0.35, 0.35),
    swayYaw: purpose === 'clip' ? random.range(0.003, 0.012) : 0,
    bounce: purpose === 'clip' ? random.range(0.3, 1.5) : 0,
  };
}

function skyline(random: Random, setting: Setting): SkylineShape[] {
  const shapes: SkylineShape[] = [];
  if (setting !== 'urban') {
    for (let a = -1.2; a < 1.2; a += random.range(0.25, 0.7)) {
      shapes.push({ from: a, to: a + random.range(0.3, 0.9), rise: random.range(0.01, 0.05), kind: 'hill', shade: random.range(0.8, 1.1) });
    }
    for (let a = -1.2; a < 1.2; a += random.range(0.1, 0.4)) {
      if (random.chance(0.6)) shapes.push({ from: a, to: a + random.range(0.05, 0.3), rise: random.range(0.006, 0.02), kind: 'trees', shade: random.range(0.8, 1.1) });
    }
  }
  if (setting !== 'rural') {
    for (let a = -1.0; a < 1.0; a += random.range(0.01, 0.05)) {
      if (random.chance(setting === 'urban' ? 0.8 : 0.3)) {
        shapes.push({ from: a, to: a + random.range(0.015, 0.06), rise: random.range(0.004, setting === 'urban' ? 0.07 : 0.02), kind: 'building', shade: random.range(0.75, 1.1) });
      }
    }
  }
  return shapes;
}

function furnish(world: World, from: number, to: number, seed: number): void {
  // One stream per kind of furniture, so that furnishing a longer road changes nothing nearer.
  let random = new Random(hashSeed(seed, 20));
  let factory = new ActorFactory(world, random);
  const { road } = world;
  const edges = roadEdges(road);
  const setting = road.setting;
  const nearIntersection = (s: number, margin: number): boolean => road.intersections.some((c) => Math.abs(s - c.s) < c.width / 2 + margin);
  // Street lamps.
  if (setting !== 'rural' || random.chance(0.2)) {
    const spacing = setting === 'urban' ? [22, 35] : [30, 50];
    const both = random.chance(0.5);
    for (let s = from + random.range(0, 20); s < to; s += random.range(spacing[0] as number, spacing[1] as number)) {
      if (nearIntersection(s, 3)) continue;
      const side = both ? (random.chance(0.5) ? 1 : -1) : 1;
      const x = side > 0 ? edges.curbRight + 0.5 : edges.curbLeft - 0.5;
      factory.prop('lamp', s, x, random.range(7, 9.5), -side * random.range(1.5, 2.8), jitter(random, [120, 124, 130], 0.1));
    }
  }
  // Utility poles.
  random = new Random(hashSeed(seed, 21));
  factory = new ActorFactory(world, random);
  if (setting !== 'urban' && random.chance(0.75)) {
    const side = random.chance(0.6) ? 1 : -1;
    const x = side > 0 ? edges.outerRight + random.range(0.6, 2.5) : edges.outerLeft - random.range(0.6, 2.5);
    for (let s = from + random.range(0, 30); s < to; s += random.range(35, 55)) {
      if (!nearIntersection(s, 2)) factory.prop('pole', s, x, random.range(8, 10.5), 0, jitter(random, [110, 85, 60], 0.15));
    }
  }
  // Trees and bushes.
  random = new Random(hashSeed(seed, 22));
  factory = new ActorFactory(world, random);
  const treeChance = setting === 'urban' ? 0.35 : setting === 'suburban' ? 0.6 : 0.55;
  for (const side of [-1, 1]) {
    for (let s = from + random.range(0, 8); s < to; s += random.range(7, 16)) {
      if (nearIntersection(s, 3) || !random.chance(treeChance)) continue;
      const outer = side > 0 ? edges.outerRight : edges.outerLeft;
      const offset = setting === 'urban' ? -side * random.range(0.6, 1.2) : side * random.range(1, 12);
      const x = outer + offset;
      const green: Rgb = jitter(random, random.pick([[50, 90, 40], [70, 110, 45], [40, 75, 35], [90, 115, 50]] as Rgb[]), 0.12);
      if (random.chance(0.75)) factory.prop('tree', s, x, random.range(1.8, 3.2), random.range(1.4, 2.8), green);
      else factory.prop('bush', s, x + side * 0.5, 0, random.range(0.5, 1.1), green);
    }
  }
  // Direction signs.
  random = new Random(hashSeed(seed, 23));
  factory = new ActorFactory(world, random);
  for (let s = from + random.range(10, 80); s < to; s += random.range(60, 160)) {
    if (nearIntersection(s, 4)) continue;
    const color: Rgb = random.pick([[25, 100, 60], [30, 70, 150], [235, 235, 235]] as Rgb[]);
    factory.prop('signpost', s, edges.curbRight + random.range(0.6, 1.5), random.range(2.8, 3.6), random.range(1.4, 2.6), color);
  }
  // Buildings along urban streets, with gaps at cross streets.
  random = new Random(hashSeed(seed, 24));
  factory = new ActorFactory(world, random);
  if (setting === 'urban' || (setting === 'suburban' && random.chance(0.3))) {
    for (const side of [-1, 1] as const) {
      const facade = side > 0 ? edges.outerRight + random.range(0, 3) : edges.outerLeft - random.range(0, 3);
      let s = from;
      while (s < to) {
        const length = random.range(8, 35);
        const blocked = road.intersections.find((c) => c.s + c.width / 2 + 3 > s && c.s - c.width / 2 - 3 < s + length);
        if (blocked) {
          s = blocked.s + blocked.width / 2 + 3;
          continue;
        }
        const building: BuildingActor = {
          id: factory.id(),
          kind: 'building',
          s: s + length / 2,
          x: facade,
          heading: 0,
          speed: 0,
          side,
          s0: s,
          s1: s + length,
          height: setting === 'urban' ? random.range(6, 28) : random.range(5, 9),
          depth: random.range(10, 20),
          color: jitter(random, random.pick([[150, 80, 60], [200, 185, 150], [150, 150, 155], [220, 218, 210], [90, 92, 100], [180, 160, 130], [120, 140, 150]] as Rgb[]), 0.08),
          storey: random.range(3, 3.6),
          windowWidth: random.range(0.9, 1.6),
          windowSpacing: random.range(2.2, 3.5),
          shopfront: setting === 'urban' && random.chance(0.6),
          windowSeed: random.seed(),
        };
        world.actors.push(building);
        s += length + (random.chance(0.3) ? random.range(0.5, 4) : 0);
      }
    }
  }
}

function signalize(factory: ActorFactory, cross: Intersection): void {
  const { world, random } = factory;
  const edges = roadEdges(world.road);
  const near = cross.s - cross.width / 2;
  const far = cross.s + cross.width / 2;
  const housing: Rgb = random.pick([[30, 32, 30], [45, 60, 45], [180, 160, 40], [60, 60, 65]] as Rgb[]);
  const state = random.weighted({ red: 0.45, green: 0.4, amber: 0.15 });
  const cross_state = state === 'green' ? 'red' : random.weighted({ green: 0.7, amber: 0.3 });
  const light = (x: number, s: number, facing: number, elevation: number, mount: 'post' | 'hanging', lamp: typeof state): void => {
    world.actors.push({
      id: factory.id(),
      kind: 'traffic light',
      s,
      x,
      heading: 0,
      speed: 0,
      elevation,
      size: random.range(0.3, 0.4),
      facing,
      state: lamp,
      mount,
      housing: jitter(random, housing, 0.05),
    });
  };
  if (cross.control === 'lights') {
    // A mast arm from the near right corner over the lanes ahead, with one or two lights hanging from it.
    const mastX = edges.curbRight + 0.7;
    const mastS = near - random.range(1, 3);
    const mastHeight = random.range(6, 7);
    const reach = -(mastX - random.range(0.5, 2));
    factory.prop('mast', mastS, mastX, mastHeight, reach, jitter(random, [110, 114, 118], 0.1));
    const hanging = random.int(1, Math.min(3, world.road.lanesAhead + 1));
    for (let i = 0; i < hanging; i++) {
      const x = mastX + reach * ((i + 1) / (hanging + 0.5));
      light(x, mastS - 0.05, Math.PI, mastHeight - 0.45 - 1.1, 'hanging', state);
    }
    // Posts on the far corners facing the camera, and side-on ones for the cross street.
    light(edges.curbRight + random.range(0.5, 1.5), far + random.range(1, 3), Math.PI + random.range(-0.15, 0.15), random.range(2.3, 3.2), 'post', state);
    if (random.chance(0.7)) light(edges.curbLeft - random.range(0.5, 1.5), far + random.range(1, 3), Math.PI + random.range(-0.15, 0.15), random.range(2.3, 3.2), 'post', state);
    if (random.chance(0.6)) light(edges.curbLeft - random.range(0.5, 1.2), near - random.range(0.5, 2), Math.PI / 2, random.range(2.3, 3.2), 'post', cross_state);
    if (random.chance(0.5)) light(edges.curbRight + random.range(0.5, 1.2), far + random.range(0.5, 2), -Math.PI / 2, random.range(2.3, 3.2), 'post', cross_state);
    if (random.chance(0.4)) light(edges.curbLeft - random.range(0.5, 1.2), near - random.range(0.5, 2), 0, random.range(2.3, 3.2), 'post', state);
  } else if (cross.control === 'stop') {
    stopSign(factory, edges.curbRight + random.range(0.5, 1.5), near - random.range(0.5, 2.5));
    if (random.chance(0.35)) stopSign(factory, edges.curbLeft - random.range(0.5, 1.5), far + random.range(0.5, 2));
  }
}

function stopSign(factory: ActorFactory, x: number, s: number): void {
  const { random } = factory;
  factory.world.actors.push({
    id: factory.id(),
    kind: 'stop sign',
    s,
    x,
    heading: 0,
    speed: 0,
    elevation: random.range(1.9, 2.4),
    radius: random.range(0.3, 0.4),
    yaw: random.range(-0.35, 0.35),
    faded: random.range(0, 0.5),
  });
}

/** A new street scene: its road, lighting, furniture and initial road users. */
export function createWorld(seed: number, options: LayoutOptions): World {
  const random = new Random(seed);
  const purpose = options.purpose ?? 'still';
  const extent = options.extent ?? 260;
  const mode = options.lighting ?? pickLighting(random);
  if (!LIGHTING_MODES.includes(mode)) throw new RangeError(`unknown lighting ${String(mode)}`);
  const setting = options.setting ?? random.weighted(SETTINGS);
  const lighting = createLighting(mode, random);
  const road = roadLayout(random, setting, extent, seed);
  const rig = cameraRig(random, options.width, purpose);
  const egoLane = road.lanesAhead > 1 ? random.int(0, road.lanesAhead - 1) : 0;
  const blurDraw = random.next();
  const world: World = {
    width: options.width,
    height: options.height,
    road,
    lighting,
    actors: [],
    skyline: skyline(random, setting),
    stars: mode === 'night' ? Array.from({ length: 160 }, () => [random.range(-1.2, 1.2), random.range(0.01, 0.7), random.range(0.2, 0.9)] as [number, number, number]) : [],
    rig,
    egoS: 0,
    egoX: (egoLane + 0.5) * road.laneWidth + rig.offset,
    egoSpeed: random.range(7, 14),
    egoDesiredSpeed: 0,
    time: 0,
    visibility: mode === 'day' ? random.range(700, 2000) : mode === 'dusk' ? random.range(400, 900) : random.range(300, 600),
    noiseSeed: random.seed(),
    blur: purpose === 'still' ? (blurDraw < 0.1 ? [1, 1] : blurDraw < 0.16 ? [random.int(1, 2), 0] : [0, 0]) : [0, 0],
    nextId: 1,
  };
  world.egoDesiredSpeed = world.egoSpeed;
  const factory = new ActorFactory(world, new Random(hashSeed(seed, 1)));
  // Road users first, then the furniture along the road in order, so that ids do not depend on the road's length.
  populate(factory, -5, Math.min(extent, 170), options.density ?? 1);
  // Now and then a stop sign on its own, for a side road or a school crossing.
  if (factory.random.chance(0.2)) {
    const edges = roadEdges(road);
    const x = edges.curbRight + factory.random.range(0.5, 2);
    const s = factory.random.range(10, 70);
    if (!road.intersections.some((c) => Math.abs(s - c.s) < c.width / 2 + 10)) stopSign(factory, x, s);
  }
  const signals = new ActorFactory(world, new Random(hashSeed(seed, 30)));
  for (const cross of road.intersections) signalize(signals, cross);
  furnish(world, -30, extent, seed);
  return world;
}
