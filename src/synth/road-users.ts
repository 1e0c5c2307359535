/**
 * Road users and where they are at the start: traffic in both directions, parked cars, crossing traffic,
 * pedestrians on sidewalks and crosswalks, cyclists and motorcyclists with their riders. ActorFactory builds every
 * actor of a world (street furniture included) with a fresh id; traffic.ts uses it too for those who appear later.
 */
import type { Rgb } from './lighting';
import { bicycleLook, motorcycleLook, personLook, vehicleLook, type VehicleKind } from './looks';
import type { Random } from './random';
import {
  roadEdges,
  type Actor,
  type PersonActor,
  type PropActor,
  type RoadLayout,
  type TwoWheelerActor,
  type VehicleActor,
  type World,
} from './world';

/** Builds actors with fresh ids. */
export class ActorFactory {
  constructor(
    readonly world: World,
    readonly random: Random,
  ) {}

  id(): number {
    return this.world.nextId++;
  }

  lightsOn(): boolean {
    const { lighting } = this.world;
    return lighting.lightsOn && (lighting.mode === 'night' || this.random.chance(0.7));
  }

  vehicle(kind: VehicleKind, s: number, x: number, heading: number, speed: number, lane: string | null): VehicleActor {
    const look = vehicleLook(this.random, kind);
    const actor: VehicleActor = { id: this.id(), kind, look, s, x, heading, speed, desiredSpeed: speed, lane, braking: false, headlights: lane !== null && this.lightsOn() };
    this.world.actors.push(actor);
    return actor;
  }

  person(s: number, x: number, heading: number, speed: number, lane: string | null, rider: 'bicycle' | 'motorcycle' | null = null): PersonActor {
    const actor: PersonActor = {
      id: this.id(),
      kind: 'person',
      look: personLook(this.random, rider),
      s,
      x,
      heading,
      speed,
      desiredSpeed: speed,
      lane,
      phase: this.random.range(0, 2 * Math.PI),
      mountId: null,
    };
    this.world.actors.push(actor);
    return actor;
  }

  /** A bicycle or motorcycle, with a rider unless parked. */
  twoWheeler(kind: 'bicycle' | 'motorcycle', s: number, x: number, heading: number, speed: number, lane: string | null, ridden: boolean): TwoWheelerActor {
    const look = kind === 'bicycle' ? bicycleLook(this.random) : motorcycleLook(this.random);
    const actor: TwoWheelerActor = {
      id: this.id(),
      kind,
      look,
      s,
      x,
      heading,
      speed,
      desiredSpeed: speed,
      lane,
      riderId: null,
      phase: this.random.range(0, 2 * Math.PI),
      headlights: kind === 'motorcycle' && ridden && this.lightsOn(),
    };
    this.world.actors.push(actor);
    if (ridden) {
      const rider = this.person(s, x, heading, speed, null, kind);
      rider.mountId = actor.id;
      if (look.length < 1.5) rider.look.height = Math.min(rider.look.height, 1.45);
      actor.riderId = rider.id;
    }
    return actor;
  }

  /** A road vehicle of a random kind for a traffic lane. */
  traffic(s: number, x: number, heading: number, speed: number, lane: string): Actor {
    const kind = this.random.weighted({ car: 0.73, truck: 0.12, bus: 0.07, motorcycle: 0.08 });
    if (kind === 'motorcycle') return this.twoWheeler('motorcycle', s, x + this.random.range(-0.6, 0.6), heading, speed, lane, true);
    return this.vehicle(kind, s, x + this.random.range(-0.25, 0.25), heading + this.random.range(-0.015, 0.015), speed, lane);
  }

  prop(kind: PropActor['kind'], s: number, x: number, height: number, reach: number, color: Rgb): PropActor {
    const blobs: [number, number, number][] = [];
    if (kind === 'tree' || kind === 'bush') {
      const count = this.random.int(3, 7);
      for (let i = 0; i < count; i++) {
        const r = reach * this.random.range(0.45, 0.8);
        blobs.push([this.random.range(-reach * 0.6, reach * 0.6), kind === 'tree' ? this.random.range(0, reach * 1.2) : r * 0.9, r]);
      }
    }
    const actor: PropActor = { id: this.id(), kind, s, x, heading: 0, speed: 0, height, reach, color, blobs };
    this.world.actors.push(actor);
    return actor;
  }
}

/** The x of the centre of a traffic lane: 'a0'.. ahead, 'o0'.. oncoming. */
export function laneCentre(road: RoadLayout, lane: string): number {
  const index = Number(lane.slice(1));
  return lane.startsWith('a') ? (index + 0.5) * road.laneWidth : -(index + 0.5) * road.laneWidth;
}

/** Road users on the road at the start: traffic in every lane, parked vehicles, people, cyclists. */
export function populate(factory: ActorFactory, from: number, to: number, density: number): void {
  const { world, random } = factory;
  const { road } = world;
  const edges = roadEdges(road);
  const urban = road.setting === 'urban';
  const gapScale = (urban ? 0.7 : road.setting === 'suburban' ? 1 : 1.8) / density;
  const egoLane = `a${Math.round(world.egoX / road.laneWidth - 0.5)}`;
  for (let i = 0; i < road.lanesAhead; i++) {
    const lane = `a${i}`;
    const x = laneCentre(road, lane);
    const own = lane === egoLane;
    // `s` is where the next vehicle's rear goes; the ego car's own lane is clear for the first few metres.
    let s = own ? world.egoS + random.range(5, 25) : from + random.range(-6, 20);
    while (s < to) {
      const speed = own ? world.egoSpeed + random.range(0.5, 4) : Math.max(2, world.egoSpeed + random.range(-5, 4));
      const actor = factory.traffic(s, x, 0, speed, lane);
      actor.s += lengthOf(actor) / 2;
      s = actor.s + lengthOf(actor) / 2 + random.range(5, 40) * gapScale;
    }
  }
  for (let i = 0; i < road.lanesOncoming; i++) {
    const lane = `o${i}`;
    const x = laneCentre(road, lane);
    let s = from + random.range(-3, 25);
    while (s < to) {
      const actor = factory.traffic(s, x, Math.PI, random.range(7, 15), lane);
      s += lengthOf(actor) + random.range(8, 50) * gapScale;
    }
  }
  // Parked along the curbs.
  for (const side of [-1, 1] as const) {
    const width = side > 0 ? road.parkingRight : road.parkingLeft;
    if (width < 2) continue;
    const x = side > 0 ? edges.curbRight - width / 2 : edges.curbLeft + width / 2;
    for (let s = from + random.range(-5, 8); s < to; ) {
      if (road.intersections.some((c) => Math.abs(s - c.s) < c.width / 2 + 6) || !random.chance(0.75 * Math.min(1, density))) {
        s += random.range(4, 10);
        continue;
      }
      const kind = random.weighted({ car: 0.82, truck: 0.08, motorcycle: 0.1 });
      const heading = (side > 0 ? 0 : road.lanesOncoming > 0 ? Math.PI : 0) + random.range(-0.04, 0.04);
      const actor =
        kind === 'motorcycle'
          ? factory.twoWheeler('motorcycle', s, x + side * 0.5, heading + side * random.range(0.2, 0.9), 0, null, false)
          : factory.vehicle(kind, s, x + side * random.range(0, 0.2), heading, 0, null);
      s += lengthOf(actor) + random.range(0.8, 5);
    }
  }
  // Cross traffic at intersections.
  for (const [k, cross] of road.intersections.entries()) {
    if (cross.s < from || cross.s > to) continue;
    const count = random.int(0, Math.round(3 * density));
    for (let i = 0; i < count; i++) {
      const direction = random.chance(0.5) ? 1 : -1;
      const s = cross.s - (direction * cross.width) / 4;
      const x = random.range(-50, 50);
      factory.traffic(s, x, (direction * Math.PI) / 2, random.range(5, 12), `c${k}${direction > 0 ? '+' : '-'}`);
    }
  }
  populatePeople(factory, from, to, density);
}

export function populatePeople(factory: ActorFactory, from: number, to: number, density: number): void {
  const { world, random } = factory;
  const { road } = world;
  const edges = roadEdges(road);
  const sidewalks: [number, number][] = [];
  if (road.sidewalkRight > 0) sidewalks.push([edges.curbRight + 0.4, edges.outerRight - 0.3]);
  if (road.sidewalkLeft > 0) sidewalks.push([edges.outerLeft + 0.3, edges.curbLeft - 0.4]);
  if (sidewalks.length === 0) sidewalks.push([edges.curbRight + 0.4, edges.curbRight + 1.5], [edges.curbLeft - 1.5, edges.curbLeft - 0.4]);
  const perHundred = (road.setting === 'urban' ? random.range(4, 14) : road.setting === 'suburban' ? random.range(1, 6) : random.range(0, 2.5)) * density;
  const walkers = Math.round((perHundred * (to - from)) / 100);
  for (let i = 0; i < walkers; i++) {
    const [x0, x1] = random.pick(sidewalks);
    const s = random.range(from, to);
    const standing = random.chance(0.3);
    const heading = standing ? random.range(-Math.PI, Math.PI) : random.chance(0.5) ? 0 : Math.PI;
    const speed = standing ? 0 : random.range(0.9, 1.6);
    const lane = standing ? null : 'walk';
    factory.person(s, random.range(x0, x1), heading + (standing ? 0 : random.range(-0.1, 0.1)), speed, lane);
    // Now and then a companion walking alongside.
    if (!standing && random.chance(0.25)) factory.person(s + random.range(-0.6, 0.6), Math.min(x1, Math.max(x0, random.range(x0, x1))), heading, speed, lane);
  }
  // People crossing at crosswalks and waiting at corners.
  for (const cross of road.intersections) {
    if (cross.s < from || cross.s > to || !cross.crosswalk) continue;
    const crossing = random.int(0, Math.round(4 * density));
    for (let i = 0; i < crossing; i++) {
      const side = random.chance(0.5) ? -1 : 1;
      const s = side < 0 ? cross.s - cross.width / 2 - random.range(1.5, 3.5) : cross.s + cross.width / 2 + random.range(1.5, 3.5);
      const direction = random.chance(0.5) ? 1 : -1;
      factory.person(s, random.range(edges.curbLeft, edges.curbRight), (direction * Math.PI) / 2 + random.range(-0.1, 0.1), random.range(1, 1.6), 'cross');
    }
    const waiting = random.int(0, Math.round(3 * density));
    for (let i = 0; i < waiting; i++) {
      const right = random.chance(0.5);
      const x = right ? edges.curbRight + random.range(0.4, 1.8) : edges.curbLeft - random.range(0.4, 1.8);
      factory.person(cross.s - cross.width / 2 - random.range(0.5, 4), x, random.range(-Math.PI, Math.PI), 0, null);
    }
  }
  // Cyclists: along the right edge, oncoming at the left edge, crossing; bicycles parked on sidewalks.
  const cyclists = random.int(0, Math.round(2 * density + (road.setting === 'urban' ? 1 : 0)));
  for (let i = 0; i < cyclists; i++) {
    const where = random.weighted({ right: 0.5, left: 0.2, crossing: 0.3 });
    const s = random.range(from + 5, Math.min(to, from + 80));
    if (where === 'right') factory.twoWheeler('bicycle', s, edges.right - random.range(0.6, 1.1), random.range(-0.05, 0.05), random.range(3, 6), 'bike', true);
    else if (where === 'left') factory.twoWheeler('bicycle', s, edges.left + random.range(0.6, 1.1), Math.PI + random.range(-0.05, 0.05), random.range(3, 6), 'bike', true);
    else factory.twoWheeler('bicycle', s, random.range(edges.curbLeft - 3, edges.curbRight + 3), (random.chance(0.5) ? 1 : -1) * (Math.PI / 2 + random.range(-0.2, 0.2)), random.range(2.5, 5), 'cross', true);
  }
  const parkedBikes = road.setting === 'rural' ? 0 : random.int(0, Math.round(2 * density));
  for (let i = 0; i < parkedBikes; i++) {
    const [x0, x1] = random.pick(sidewalks);
    const s = random.range(from + 3, Math.min(to, from + 60));
    const count = random.chance(0.3) ? random.int(2, 4) : 1;
    const heading = random.range(-Math.PI, Math.PI);
    for (let k = 0; k < count; k++) factory.twoWheeler('bicycle', s + k * 0.7, random.range(x0, x1), heading + random.range(-0.2, 0.2), 0, null, false);
  }
}

function lengthOf(actor: Actor): number {
  return 'look' in actor && 'length' in actor.look ? actor.look.length : 1;
}
