/**
 * Motion for clips: the ego car drives on, traffic keeps its lanes and its distance (slowing for whatever is in its
 * path, the ego car included), pedestrians walk and cross, riders stay on their machines. New road users appear
 * beyond the view or behind the camera, and those left behind are dropped. All deterministic in the world's seed.
 */
import type { Random } from './random';
import { ActorFactory, laneCentre } from './road-users';
import { roadEdges, type Actor, type PersonActor, type TwoWheelerActor, type VehicleActor, type World } from './world';

type Mover = VehicleActor | TwoWheelerActor | PersonActor;

export function isMover(actor: Actor): actor is Mover {
  return actor.kind === 'car' || actor.kind === 'truck' || actor.kind === 'bus' || actor.kind === 'bicycle' || actor.kind === 'motorcycle' || actor.kind === 'person';
}

function halfLength(actor: Mover): number {
  return actor.kind === 'person' ? 0.3 : actor.look.length / 2;
}

/**
 * How far beside a driver's path a pedestrian crossing towards it is already yielded to, in metres: about two seconds
 * of walking. Braking only once someone is in the path is too late at town speeds (from 12 m/s a car needs about 10 m
 * to stop), and the camera car drove through people who stepped out 20 m ahead of it.
 */
const CROSSING_YIELD = 2.5;

/**
 * Road users in the way of something at (s, x) heading `heading`, within `corridor` metres of its path, or crossing
 * towards it within `corridor` + CROSSING_YIELD.
 */
function gapAhead(world: World, self: { s: number; x: number; heading: number; half: number; id: number }, corridor: number): { gap: number; speed: number } | null {
  const fx = Math.sin(self.heading);
  const fz = Math.cos(self.heading);
  let best: { gap: number; speed: number } | null = null;
  for (const other of world.actors) {
    if (other.id === self.id || !isMover(other)) continue;
    if (other.kind === 'person' && other.mountId !== null) continue;
    const dx = other.x - self.x;
    const dz = other.s - self.s;
    const along = dx * fx + dz * fz;
    const side = -dx * fz + dz * fx;
    const sideways = other.speed * (Math.cos(other.heading) * fx - Math.sin(other.heading) * fz);
    const crossingTowards = other.kind === 'person' && other.lane === 'cross' && side * sideways < 0;
    if (along <= 0 || Math.abs(side) > corridor + (crossingTowards ? CROSSING_YIELD : 0)) continue;
    const gap = along - self.half - halfLength(other);
    // Speed of the other along our direction (0 for crossing traffic).
    const speed = other.speed * (Math.sin(other.heading) * fx + Math.cos(other.heading) * fz);
    if (!best || gap < best.gap) best = { gap, speed: Math.max(0, speed) };
  }
  return best;
}

/** Speed after dt for a driver who wants `desired` and keeps a safe gap to what is ahead. */
function follow(speed: number, desired: number, ahead: { gap: number; speed: number } | null, dt: number): number {
  let target = desired;
  if (ahead) {
    const safe = 3 + 1.1 * speed;
    if (ahead.gap < safe) target = Math.min(target, Math.max(0, ahead.speed * Math.max(0, ahead.gap - 2) / Math.max(1, safe - 2)));
  }
  const change = Math.max(-7 * dt, Math.min(2.5 * dt, target - speed));
  return Math.max(0, speed + change);
}

function move(actor: Mover, dt: number): void {
  actor.s += actor.speed * Math.cos(actor.heading) * dt;
  actor.x += actor.speed * Math.sin(actor.heading) * dt;
}

export function advanceWorld(world: World, dt: number, random: Random): void {
  const byId = new Map(world.actors.map((actor) => [actor.id, actor]));
  // The ego car: keep a gap to anything in its lane, as everyone else does.
  const egoAhead = gapAhead(world, { s: world.egoS, x: world.egoX, heading: 0, half: 2.2, id: -1 }, 1.6);
  world.egoSpeed = follow(world.egoSpeed, world.egoDesiredSpeed, egoAhead, dt);
  world.egoS += world.egoSpeed * dt;
  for (const actor of world.actors) {
    if (!isMover(actor) || actor.lane === null) continue;
    if (actor.kind === 'person' && actor.mountId !== null) continue;
    const half = halfLength(actor);
    const corridor = actor.kind === 'person' ? 0.5 : actor.kind === 'bicycle' ? 0.7 : 1.4;
    let ahead = actor.kind === 'person' ? null : gapAhead(world, { s: actor.s, x: actor.x, heading: actor.heading, half, id: actor.id }, corridor);
    // Traffic behind the ego car in its lane keeps its distance from the ego car too.
    if (actor.kind !== 'person') {
      const fz = Math.cos(actor.heading);
      const along = (world.egoS - actor.s) * fz + (world.egoX - actor.x) * Math.sin(actor.heading);
      const across = Math.abs(-(world.egoX - actor.x) * fz + (world.egoS - actor.s) * Math.sin(actor.heading));
      if (along > 0 && across < corridor) {
        const gap = along - half - 2.3;
        if (!ahead || gap < ahead.gap) ahead = { gap, speed: world.egoSpeed * Math.max(0, fz) };
      }
    }
    const before = actor.speed;
    actor.speed = follow(actor.speed, actor.desiredSpeed, ahead, dt);
    if (actor.kind === 'car' || actor.kind === 'truck' || actor.kind === 'bus') actor.braking = actor.speed < before - 0.02 || (actor.speed < 0.5 && actor.desiredSpeed > 0);
    move(actor, dt);
    if (actor.kind === 'person' && actor.lane === 'cross') turnOntoSidewalk(world, actor);
  }
  for (const actor of world.actors) {
    if (actor.kind === 'person') {
      if (actor.mountId !== null) {
        const mount = byId.get(actor.mountId) as TwoWheelerActor | undefined;
        if (mount) {
          actor.s = mount.s;
          actor.x = mount.x;
          actor.heading = mount.heading;
          actor.speed = mount.speed;
        }
      } else {
        actor.phase += (2 * Math.PI * actor.speed * dt) / (0.8 * actor.look.height);
      }
    } else if (actor.kind === 'bicycle' || actor.kind === 'motorcycle') {
      actor.phase += (actor.speed * dt) / (actor.kind === 'bicycle' ? 0.75 : 0.3);
    }
  }
  world.time += dt;
  despawn(world);
  spawn(world, dt, random);
}

/** Someone who has crossed the road walks on along the far sidewalk. */
function turnOntoSidewalk(world: World, person: PersonActor): void {
  const edges = roadEdges(world.road);
  const direction = Math.sin(person.heading);
  if ((direction > 0 && person.x > edges.curbRight + 1) || (direction < 0 && person.x < edges.curbLeft - 1)) {
    person.heading = person.id % 2 === 0 ? 0 : Math.PI;
    person.lane = 'walk';
  }
}

function despawn(world: World): void {
  const gone = new Set<number>();
  for (const actor of world.actors) {
    const z = actor.s - world.egoS;
    const behind = actor.kind === 'building' ? actor.s1 - world.egoS < -20 : z < -25;
    if (behind || z > 600 || Math.abs(actor.x) > 90) gone.add(actor.id);
  }
  // A rider goes with its machine.
  for (const actor of world.actors) {
    if (actor.kind === 'person' && actor.mountId !== null && gone.has(actor.mountId)) gone.add(actor.id);
  }
  if (gone.size > 0) world.actors = world.actors.filter((actor) => !gone.has(actor.id));
}

function laneClear(world: World, lane: string, s: number, margin: number): boolean {
  return !world.actors.some((actor) => isMover(actor) && actor.lane === lane && Math.abs(actor.s - s) < margin);
}

function spawn(world: World, dt: number, random: Random): void {
  const factory = new ActorFactory(world, random);
  const { road } = world;
  const edges = roadEdges(road);
  const busy = road.setting === 'urban' ? 1 : road.setting === 'suburban' ? 0.7 : 0.4;
  const egoLane = `a${Math.round(world.egoX / road.laneWidth - 0.5)}`;
  for (let i = 0; i < road.lanesAhead; i++) {
    const lane = `a${i}`;
    if (!random.chance(0.12 * busy * dt)) continue;
    const x = laneCentre(road, lane);
    // Slower traffic appears far ahead; faster traffic comes up from behind (never in the ego car's own lane).
    const fromBehind = lane !== egoLane && random.chance(0.5);
    const s = world.egoS + (fromBehind ? -22 : random.range(170, 200));
    const speed = fromBehind ? world.egoSpeed + random.range(2, 6) : lane === egoLane ? world.egoSpeed + random.range(0, 3) : Math.max(2, world.egoSpeed + random.range(-6, 2));
    if (laneClear(world, lane, s, 25)) factory.traffic(s, x, 0, speed, lane);
  }
  for (let i = 0; i < road.lanesOncoming; i++) {
    const lane = `o${i}`;
    if (!random.chance(0.22 * busy * dt)) continue;
    const s = world.egoS + random.range(190, 220);
    if (laneClear(world, lane, s, 25)) factory.traffic(s, laneCentre(road, lane), Math.PI, random.range(7, 15), lane);
  }
  for (const [k, cross] of road.intersections.entries()) {
    const z = cross.s - world.egoS;
    if (z < 5 || z > 160) continue;
    if (random.chance(0.08 * busy * dt)) {
      const direction = random.chance(0.5) ? 1 : -1;
      const lane = `c${k}${direction > 0 ? '+' : '-'}`;
      const x = -direction * 70;
      const busyNear = world.actors.some((actor) => isMover(actor) && actor.lane === lane && Math.abs(actor.x - x) < 20);
      if (!busyNear) factory.traffic(cross.s - (direction * cross.width) / 4, x, (direction * Math.PI) / 2, random.range(6, 12), lane);
    }
    if (cross.crosswalk && z > 15 && random.chance(0.06 * busy * dt)) {
      const direction = random.chance(0.5) ? 1 : -1;
      const s = cross.s - cross.width / 2 - random.range(1.5, 3.5);
      factory.person(s, direction > 0 ? edges.curbLeft - 0.5 : edges.curbRight + 0.5, (direction * Math.PI) / 2, random.range(1, 1.6), 'cross');
    }
  }
  if (random.chance(0.5 * busy * dt) && road.setting !== 'rural') {
    const sidewalks: [number, number][] = [];
    if (road.sidewalkRight > 0) sidewalks.push([edges.curbRight + 0.4, edges.outerRight - 0.3]);
    if (road.sidewalkLeft > 0) sidewalks.push([edges.outerLeft + 0.3, edges.curbLeft - 0.4]);
    if (sidewalks.length > 0) {
      const [x0, x1] = random.pick(sidewalks);
      const standing = random.chance(0.25);
      factory.person(world.egoS + random.range(120, 160), random.range(x0, x1), standing ? random.range(-Math.PI, Math.PI) : random.chance(0.5) ? 0 : Math.PI, standing ? 0 : random.range(0.9, 1.6), standing ? null : 'walk');
    }
  }
  if (random.chance(0.03 * dt)) factory.twoWheeler('bicycle', world.egoS + random.range(150, 180), edges.right - random.range(0.6, 1.1), 0, random.range(3, 6), 'bike', true);
}
