// meeting-names.js: names for new meetings that are hard to guess and easy to say: seven
// words, each one of 256 (8 random bits), 56 bits in all, like `brave-otter-lamp-river-...`.
// With the server's limits on joins, guessing one of the meetings that exist takes longer
// than anyone has.

/** The words, 256 of them, short and easy to say and spell. */
export const WORDS = [
  'ant', 'bat', 'bear', 'bee', 'bird', 'cat', 'cow', 'crab', 'crow', 'deer', 'dog', 'dove',
  'duck', 'eel', 'elk', 'fish', 'fox', 'frog', 'goat', 'gull', 'hawk', 'hen', 'jay', 'kiwi',
  'lamb', 'lark', 'lion', 'lynx', 'mole', 'moth', 'mule', 'owl', 'ox', 'otter', 'panda', 'pony',
  'puma', 'quail', 'robin', 'seal', 'shark', 'sheep', 'snail', 'swan', 'tiger', 'toad', 'trout',
  'wasp', 'whale', 'wolf', 'yak', 'zebra', 'ash', 'bay', 'beach', 'birch', 'bloom', 'brook',
  'bush', 'cave', 'cliff', 'cloud', 'coast', 'coral', 'creek', 'dawn', 'dew', 'dune', 'dusk',
  'earth', 'elm', 'fern', 'field', 'flame', 'fog', 'forest', 'frost', 'glade', 'grove', 'hail',
  'hill', 'ice', 'isle', 'lake', 'leaf', 'lily', 'marsh', 'meadow', 'mist', 'moon', 'moss', 'oak',
  'ocean', 'palm', 'peak', 'pine', 'plain', 'pond', 'rain', 'reef', 'ridge', 'river', 'rock',
  'rose', 'sand', 'sea', 'shore', 'sky', 'snow', 'soil', 'star', 'stone', 'storm', 'stream',
  'sun', 'swamp', 'thorn', 'tide', 'tree', 'tulip', 'valley', 'wave', 'willow', 'wind', 'wood',
  'anchor', 'arrow', 'bell', 'boat', 'bolt', 'book', 'boot', 'bowl', 'box', 'brick', 'bridge',
  'camera', 'candle', 'canoe', 'cap', 'card', 'cart', 'chair', 'chalk', 'clock', 'coin', 'cup',
  'desk', 'dish', 'door', 'drum', 'fan', 'flag', 'flute', 'fork', 'gate', 'gear', 'glass',
  'globe', 'glove', 'hammer', 'harp', 'hat', 'hook', 'horn', 'jar', 'key', 'kite', 'knot', 'lamp',
  'lens', 'lock', 'map', 'mask', 'mirror', 'nail', 'net', 'pan', 'pen', 'piano', 'pipe', 'plate',
  'pot', 'radio', 'rake', 'ring', 'rope', 'sail', 'scarf', 'shell', 'ship', 'sled', 'spoon',
  'table', 'tent', 'torch', 'vase', 'wheel', 'amber', 'azure', 'bold', 'brave', 'calm', 'clever',
  'cozy', 'crisp', 'fair', 'gentle', 'glad', 'golden', 'happy', 'jolly', 'keen', 'kind', 'lucky',
  'merry', 'neat', 'noble', 'proud', 'quick', 'quiet', 'rapid', 'royal', 'shy', 'silent',
  'silver', 'smart', 'sunny', 'swift', 'vivid', 'warm', 'wise', 'young', 'apple', 'bean', 'berry',
  'bread', 'cake', 'carrot', 'cherry', 'corn', 'fig', 'grape', 'honey', 'lemon', 'lime', 'mango',
  'melon', 'mint', 'nut', 'olive', 'peach', 'pear', 'plum', 'rice', 'tea',
];

/** How many words a name has. */
export const NAME_WORDS = 7;

/** A new meeting's name, from `random` (fills a Uint8Array; the browser's crypto by default). */
export function meetingName(random = (bytes) => crypto.getRandomValues(bytes)) {
  const bytes = random(new Uint8Array(NAME_WORDS));
  return Array.from(bytes, (byte) => WORDS[byte]).join('-');
}
