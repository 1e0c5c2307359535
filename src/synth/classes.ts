import { COCO_CATEGORIES } from '../model/labels';

/** The road users and street furniture the synthetic scenes contain, by their torchvision COCO names. */
export const SYNTH_CLASSES = ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck', 'traffic light', 'stop sign'] as const;
export type SynthClass = (typeof SYNTH_CLASSES)[number];

const SUPERCATEGORY: Record<SynthClass, string> = {
  person: 'person',
  bicycle: 'vehicle',
  car: 'vehicle',
  motorcycle: 'vehicle',
  bus: 'vehicle',
  truck: 'vehicle',
  'traffic light': 'outdoor',
  'stop sign': 'outdoor',
};

/** The COCO category id (torchvision's 91-slot label index) of a class. */
export function classId(name: SynthClass): number {
  const id = COCO_CATEGORIES.indexOf(name);
  if (id < 1) throw new Error(`${name} is not a COCO category`);
  return id;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

/** The `categories` of a COCO annotation file: the synthetic classes with their COCO ids, by id. */
export function cocoCategories(): CocoCategory[] {
  return SYNTH_CLASSES.map((name) => ({ id: classId(name), name, supercategory: SUPERCATEGORY[name] })).sort((a, b) => a.id - b.id);
}
