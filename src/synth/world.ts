/**
 * What a synthetic driving scene is made of, independent of how it is drawn: the road's layout, the road users and
 * street furniture on it (actors), the time of day and the camera rig. Positions are in road coordinates: `s`
 * metres along the road, `x` metres to the right of its centre line; headings are radians from the road's direction
 * towards +x (0: driving away from the camera like the ego car, π: oncoming, ±π/2: crossing).
 */
import type { Lighting, Rgb } from './lighting';

export type Setting = 'urban' | 'suburban' | 'rural';
export type CentreLine = 'double-yellow' | 'dashed-yellow' | 'dashed-white' | 'none';

export interface Intersection {
  /** Centre of the cross street along the road. */
  s: number;
  width: number;
  control: 'lights' | 'stop' | 'none';
  crosswalk: boolean;
}

export interface RoadLayout {
  setting: Setting;
  laneWidth: number;
  /** Lanes in the ego car's direction, right of the centre line. */
  lanesAhead: number;
  /** Lanes coming the other way, left of it; 0 on a one-way road. */
  lanesOncoming: number;
  centreLine: CentreLine;
  dashLength: number;
  dashGap: number;
  /** Paint of the markings, 0.4 (worn) to 1. */
  paint: number;
  /** Parking lane (or paved shoulder) outside each edge line, metres. */
  parkingLeft: number;
  parkingRight: number;
  sidewalkLeft: number;
  sidewalkRight: number;
  verge: 'grass' | 'dirt' | 'sand';
  intersections: Intersection[];
  asphalt: Rgb;
  sidewalk: Rgb;
  vergeColor: Rgb;
  yellow: Rgb;
  /** Darker or lighter patches of repaired asphalt: [s0, s1, x0, x1, brightness]. */
  patches: [number, number, number, number, number][];
}

/** x of the edge lines and of the outer edges of paving and sidewalks, from the layout. */
export function roadEdges(road: RoadLayout): { left: number; right: number; curbLeft: number; curbRight: number; outerLeft: number; outerRight: number } {
  const right = road.lanesAhead * road.laneWidth;
  const left = -road.lanesOncoming * road.laneWidth;
  const curbRight = right + road.parkingRight;
  const curbLeft = left - road.parkingLeft;
  return { left, right, curbLeft, curbRight, outerLeft: curbLeft - road.sidewalkLeft, outerRight: curbRight + road.sidewalkRight };
}

export interface VehicleLook {
  model: 'sedan' | 'hatchback' | 'suv' | 'van' | 'box-truck' | 'semi' | 'city-bus' | 'coach' | 'school-bus';
  length: number;
  width: number;
  height: number;
  color: Rgb;
  /** Second colour: a truck's cargo box, a bus's stripe. */
  trim: Rgb;
  wheelRadius: number;
  /** Ground clearance. */
  clearance: number;
}

export interface TwoWheelerLook {
  length: number;
  wheelRadius: number;
  color: Rgb;
  /** Motorcycles: fairing, tank and tail colour. */
  trim: Rgb;
}

export interface PersonLook {
  height: number;
  /** Shoulder width as a share of height. */
  build: number;
  skin: Rgb;
  hair: Rgb;
  top: Rgb;
  bottom: Rgb;
  shoes: Rgb;
  /** Lower body: trousers, shorts (skin below the knee) or a skirt. */
  legs: 'trousers' | 'shorts' | 'skirt';
  longSleeves: boolean;
  /** Helmet colour for riders, or null. */
  helmet: Rgb | null;
}

interface Placed {
  id: number;
  s: number;
  x: number;
  heading: number;
  speed: number;
}

/** Something that moves by itself: it keeps a lane or a path and a speed it wants. */
interface Mobile extends Placed {
  /** Which stream of traffic it belongs to ('a0' ahead lane 0, 'o1' oncoming lane 1, 'c3-0' cross street...); null when parked. */
  lane: string | null;
  desiredSpeed: number;
}

export interface VehicleActor extends Mobile {
  kind: 'car' | 'truck' | 'bus';
  look: VehicleLook;
  braking: boolean;
  headlights: boolean;
}

export interface TwoWheelerActor extends Mobile {
  kind: 'bicycle' | 'motorcycle';
  look: TwoWheelerLook;
  riderId: number | null;
  /** Crank or wheel angle, radians. */
  phase: number;
  /** Motorcycles: headlight and taillight on. */
  headlights: boolean;
}

export interface PersonActor extends Mobile {
  kind: 'person';
  look: PersonLook;
  /** Gait phase, radians: one stride is 2π. */
  phase: number;
  /** The bicycle or motorcycle this person rides, or null. */
  mountId: number | null;
}

export interface TrafficLightActor extends Placed {
  kind: 'traffic light';
  /** Height of the housing's bottom above the road. */
  elevation: number;
  /** Housing size: width (height is 2.7 times it for three lamps). */
  size: number;
  /** Direction the lamps face, as a heading: π faces the camera. */
  facing: number;
  state: 'red' | 'amber' | 'green';
  /** Drawn on a post of its own, or hanging from a mast arm (drawn by the mast). */
  mount: 'post' | 'hanging';
  housing: Rgb;
}

export interface StopSignActor extends Placed {
  kind: 'stop sign';
  /** Height of the sign's centre. */
  elevation: number;
  radius: number;
  /** Turn of the sign face away from the camera, radians. */
  yaw: number;
  faded: number;
}

export interface PropActor extends Placed {
  kind: 'pole' | 'lamp' | 'tree' | 'bush' | 'mast' | 'signpost';
  height: number;
  /** Lamp arm or mast arm reach towards the road (negative: to the left), crown radius for trees. */
  reach: number;
  color: Rgb;
  /** Trees: the blobs of the crown, relative to the top of the trunk [dx, dy, r]. */
  blobs: [number, number, number][];
}

export interface BuildingActor extends Placed {
  kind: 'building';
  /** -1: left of the road, 1: right. `x` is the facade line. */
  side: -1 | 1;
  s0: number;
  s1: number;
  height: number;
  depth: number;
  color: Rgb;
  /** Storey height and window grid; lit windows by index at night. */
  storey: number;
  windowWidth: number;
  windowSpacing: number;
  shopfront: boolean;
  windowSeed: number;
}

export type Actor = VehicleActor | TwoWheelerActor | PersonActor | TrafficLightActor | StopSignActor | PropActor | BuildingActor;

export interface SkylineShape {
  /** Left and right edge as angles from the road's direction, and height as an angle above the horizon. */
  from: number;
  to: number;
  rise: number;
  kind: 'building' | 'hill' | 'trees';
  shade: number;
}

export interface CameraRig {
  focal: number;
  elevation: number;
  /** Horizon position as a share of the image height. */
  horizon: number;
  yaw: number;
  /** Lateral offset within the ego lane. */
  offset: number;
  /** Amplitudes of the clip-time sway: yaw (radians) and bounce (pixels). */
  swayYaw: number;
  bounce: number;
}

export interface World {
  width: number;
  height: number;
  road: RoadLayout;
  lighting: Lighting;
  actors: Actor[];
  skyline: SkylineShape[];
  /** Star positions at night: [angle, elevation angle, brightness]. */
  stars: [number, number, number][];
  rig: CameraRig;
  /** Where the ego car is, and how fast it goes. */
  egoS: number;
  egoX: number;
  egoSpeed: number;
  egoDesiredSpeed: number;
  time: number;
  /** Haze visibility, metres. */
  visibility: number;
  noiseSeed: number;
  /** Box blur radii (defocus or motion), or zeros. */
  blur: [number, number];
  nextId: number;
}
