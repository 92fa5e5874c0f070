/** Class names in label order, as the datasets' authors publish them. */

export const mnistClassNames: readonly string[] = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
];

/** Zalando's label order (https://github.com/zalandoresearch/fashion-mnist#labels). */
export const fashionMnistClassNames: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** `batches.meta.txt` of the CIFAR-10 binary version. */
export const cifar10ClassNames: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** `fine_label_names.txt` of the CIFAR-100 binary version. */
// Ten per row so that a label can be found by counting rows.
// prettier-ignore
export const cifar100FineClassNames: readonly string[] = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

/** `coarse_label_names.txt` of the CIFAR-100 binary version (the 20 superclasses). */
export const cifar100CoarseClassNames: readonly string[] = [
  'aquatic_mammals',
  'fish',
  'flowers',
  'food_containers',
  'fruit_and_vegetables',
  'household_electrical_devices',
  'household_furniture',
  'insects',
  'large_carnivores',
  'large_man-made_outdoor_things',
  'large_natural_outdoor_scenes',
  'large_omnivores_and_herbivores',
  'medium_mammals',
  'non-insect_invertebrates',
  'people',
  'reptiles',
  'small_mammals',
  'trees',
  'vehicles_1',
  'vehicles_2',
];
