/**
 * The dashcam: a pinhole camera some way above the road, looking down the road. World coordinates are metres:
 * X to the right of the road's centre line, Y up from the ground, Z forward from the camera's position along the
 * road. Everything in a scene is drawn as 3-D polygons projected through this camera, so sizes shrink towards the
 * horizon exactly as perspective demands.
 */

export type Vec3 = [number, number, number];

export interface Camera {
  width: number;
  height: number;
  /** Focal length in pixels. */
  focal: number;
  /** Principal point: the vanishing point of the road when yaw is 0. */
  cx: number;
  horizon: number;
  /** Height of the lens above the road, metres. */
  elevation: number;
  /** Lateral position on the road, metres (0 = the road's centre line). */
  x: number;
  /** Heading relative to the road, radians; positive looks to the right. */
  yaw: number;
  /** Nothing nearer than this (metres along the view direction) is drawn. */
  near: number;
}

/** Screen position of a world point in front of the camera (callers make sure it is past the near plane). */
export function project(camera: Camera, point: Readonly<Vec3>): [number, number] {
  const [xc, yc, zc] = toCamera(camera, point);
  return [camera.cx + (camera.focal * xc) / zc, camera.horizon - (camera.focal * yc) / zc];
}

/** Depth of a world point along the view direction. */
export function depth(camera: Camera, point: Readonly<Vec3>): number {
  return toCamera(camera, point)[2];
}

function toCamera(camera: Camera, [x, y, z]: Readonly<Vec3>): Vec3 {
  const dx = x - camera.x;
  const cos = Math.cos(camera.yaw);
  const sin = Math.sin(camera.yaw);
  return [dx * cos - z * sin, y - camera.elevation, dx * sin + z * cos];
}

/**
 * A closed world polygon as screen coordinates [x0, y0, x1, y1, ...], cut at the near plane first (so a car beside
 * the camera keeps the part of its flank that is in front of the lens); empty when nothing is in front.
 */
export function projectPolygon(camera: Camera, points: readonly Readonly<Vec3>[]): number[] {
  const cam = points.map((point) => toCamera(camera, point));
  const clipped = clipNear(cam, camera.near);
  const out = new Array<number>(clipped.length * 2);
  for (let i = 0; i < clipped.length; i++) {
    const [xc, yc, zc] = clipped[i] as Vec3;
    out[2 * i] = camera.cx + (camera.focal * xc) / zc;
    out[2 * i + 1] = camera.horizon - (camera.focal * yc) / zc;
  }
  return out;
}

/** Sutherland–Hodgman against z >= near, in camera coordinates. */
function clipNear(points: readonly Vec3[], near: number): Vec3[] {
  let allIn = true;
  for (const point of points) if (point[2] < near) allIn = false;
  if (allIn) return points as Vec3[];
  const out: Vec3[] = [];
  for (let i = 0; i < points.length; i++) {
    const a = points[i] as Vec3;
    const b = points[(i + 1) % points.length] as Vec3;
    const aIn = a[2] >= near;
    const bIn = b[2] >= near;
    if (aIn) out.push(a);
    if (aIn !== bIn) {
      const t = (near - a[2]) / (b[2] - a[2]);
      out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), near]);
    }
  }
  return out;
}

/**
 * projectPolygon for an outline in a plane's own coordinates (points origin + a·u + b·v), without making world
 * points: every road user is drawn this way, so this is the renderer's innermost loop.
 */
export function projectPlanar(camera: Camera, origin: Readonly<Vec3>, u: Readonly<Vec3>, v: Readonly<Vec3>, outline: readonly number[]): number[] {
  const cos = Math.cos(camera.yaw);
  const sin = Math.sin(camera.yaw);
  const { focal, cx, horizon, near } = camera;
  const n = outline.length >> 1;
  const out = new Array<number>(outline.length);
  for (let i = 0; i < n; i++) {
    const a = outline[2 * i] as number;
    const b = outline[2 * i + 1] as number;
    const dx = origin[0] + a * u[0] + b * v[0] - camera.x;
    const y = origin[1] + a * u[1] + b * v[1] - camera.elevation;
    const z = origin[2] + a * u[2] + b * v[2];
    const zc = dx * sin + z * cos;
    if (zc < near) {
      // Something crosses the near plane: the general path cuts it there.
      const points: Vec3[] = [];
      for (let k = 0; k < n; k++) {
        const ak = outline[2 * k] as number;
        const bk = outline[2 * k + 1] as number;
        points.push([origin[0] + ak * u[0] + bk * v[0], origin[1] + ak * u[1] + bk * v[1], origin[2] + ak * u[2] + bk * v[2]]);
      }
      return projectPolygon(camera, points);
    }
    out[2 * i] = cx + (focal * (dx * cos - z * sin)) / zc;
    out[2 * i + 1] = horizon - (focal * y) / zc;
  }
  return out;
}
