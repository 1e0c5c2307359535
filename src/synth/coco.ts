/** COCO-format records for synthetic stills: an image's annotations with compressed RLE masks. */
import { encodeMaskCrop, type CocoRle } from '../output/rle';
import type { LightingMode } from './lighting';
import type { RenderedScene } from './scene';
import type { Setting } from './world';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  /** Not COCO fields; what the scene was, for slicing a dataset by condition. */
  lighting: LightingMode;
  setting: Setting;
  seed: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: CocoRle;
  /** Mask pixels. */
  area: number;
  /** x, y, width, height of the mask's bounds. */
  bbox: [number, number, number, number];
  /** 1 for an instance too small to score (SceneInstance.ignore): COCO evaluation treats crowds as ignore regions. */
  iscrowd: 0 | 1;
  /** The road user's id in its scene. */
  track_id: number;
  /**
   * Not a COCO field: this crowd region is one object too small to score, which `dashseg eval --score-ignored` can
   * count again (and training can learn from), unlike a crowd of many.
   */
  ignore?: true;
}

/** A scene's instances as annotations, numbered from `firstId`. */
export function sceneAnnotations(scene: RenderedScene, imageId: number, firstId: number): CocoAnnotation[] {
  return scene.instances.map((instance, k) => {
    const [x1, y1, x2, y2] = instance.box;
    return {
      id: firstId + k,
      image_id: imageId,
      category_id: instance.classId,
      segmentation: encodeMaskCrop(instance.mask, scene.height, scene.width),
      area: instance.area,
      bbox: [x1, y1, x2 - x1, y2 - y1],
      iscrowd: instance.ignore ? 1 : 0,
      track_id: instance.id,
      ...(instance.ignore ? { ignore: true as const } : {}),
    };
  });
}

export function imageFileName(index: number): string {
  return `images/${String(index).padStart(6, '0')}.png`;
}
