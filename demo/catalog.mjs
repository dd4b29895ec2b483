// The demo store's fixed catalogue: 5 categories, 24 products. Prices are in cents so
// that sorting and totals never meet floating point. Ids are RFC-friendly strings
// ([0-9]+), which the beacon contract accepts as `product` values.

export const STORE_NAME = 'Fernhill Supply Co.';

export const CATEGORIES = [
  { slug: 'kitchen', name: 'Kitchen', blurb: 'Tools that earn their place on the counter.', hue: 24 },
  { slug: 'outdoor', name: 'Outdoor', blurb: 'For weekends that start at the trailhead.', hue: 140 },
  { slug: 'audio', name: 'Audio', blurb: 'Headphones, speakers and microphones.', hue: 265 },
  { slug: 'office', name: 'Home office', blurb: 'A desk you want to sit at.', hue: 205 },
  { slug: 'apparel', name: 'Apparel', blurb: 'Everyday layers, made to last.', hue: 340 },
];

// was: the regular price when the product is on sale (shown on /sale).
// sizes: only for products that come in sizes (filterable with ?size=).
const P = (id, category, name, price, color, added, extra = {}) => ({
  id, category, name, price, color, added, sizes: [], was: null, ...extra,
});

export const PRODUCTS = [
  P('101', 'kitchen', 'Cast-iron skillet, 26 cm', 3900, 'black', '2026-03-02', { summary: 'Pre-seasoned, oven-safe to 260 °C, lasts a lifetime.' }),
  P('102', 'kitchen', 'Pour-over coffee set', 3450, 'white', '2026-09-14', { was: 4500, summary: 'Porcelain dripper, glass carafe and 100 filters.' }),
  P('103', 'kitchen', "Chef's knife, 20 cm", 8900, 'black', '2025-11-20', { summary: 'Forged stainless steel with a full tang and walnut handle.' }),
  P('104', 'kitchen', 'Stoneware mixing bowls, set of 3', 4200, 'blue', '2026-06-01', { summary: 'Nesting bowls in 1, 2 and 3 litres, dishwasher safe.' }),
  P('105', 'kitchen', 'Digital kitchen scale', 2490, 'white', '2026-01-18', { was: 2990, summary: 'Weighs to the gram up to 5 kg, with a tare button.' }),
  P('201', 'outdoor', 'Two-person dome tent', 17900, 'green', '2026-04-11', { summary: 'Freestanding, 2.1 kg, pitches in five minutes.' }),
  P('202', 'outdoor', 'Insulated water bottle, 750 ml', 2700, 'blue', '2026-07-07', { was: 3200, summary: 'Keeps drinks cold for 24 hours, hot for 12.' }),
  P('203', 'outdoor', 'Trail running pack, 12 L', 9400, 'red', '2026-10-03', { summary: 'Vest fit, two soft flasks, reflective trim.' }),
  P('204', 'outdoor', 'Compact camping stove', 6450, 'black', '2025-12-09', { summary: 'Boils a litre in three minutes; folds into its own pot.' }),
  P('205', 'outdoor', 'Merino hiking socks, 3 pairs', 2900, 'grey', '2026-08-22', { sizes: ['s', 'm', 'l'], summary: 'Cushioned sole, seamless toe, no itch.' }),
  P('301', 'audio', 'Wireless over-ear headphones', 21900, 'black', '2026-09-30', { was: 25900, summary: 'Active noise cancelling and 40 hours of battery.' }),
  P('302', 'audio', 'Bookshelf speakers, pair', 34900, 'white', '2026-02-15', { summary: 'Two-way, 5" woofers, made for small rooms.' }),
  P('303', 'audio', 'Portable Bluetooth speaker', 7900, 'red', '2026-05-19', { summary: 'Waterproof, floats, 15 hours of music.' }),
  P('304', 'audio', 'USB condenser microphone', 11900, 'black', '2025-10-28', { summary: 'Cardioid capsule, headphone monitor, desk stand.' }),
  P('305', 'audio', 'In-ear earbuds', 5900, 'white', '2026-11-02', { was: 6900, summary: 'Six hours per charge, 24 with the case.' }),
  P('401', 'office', 'Ergonomic office chair', 38900, 'black', '2026-01-05', { summary: 'Adjustable lumbar support, armrests and seat depth.' }),
  P('402', 'office', 'Oak desk organiser', 3600, 'brown', '2026-03-27', { summary: 'Solid oak, three compartments and a phone slot.' }),
  P('403', 'office', 'Mechanical keyboard', 12900, 'grey', '2026-10-21', { summary: 'Hot-swappable tactile switches, aluminium case.' }),
  P('404', 'office', 'LED desk lamp', 4900, 'white', '2026-06-16', { was: 5900, summary: 'Dimmable, warm to cool light, USB-C charging port.' }),
  P('405', 'office', 'Monitor stand', 5800, 'black', '2025-09-12', { summary: 'Raises the screen 12 cm; a drawer underneath.' }),
  P('501', 'apparel', 'Organic cotton T-shirt', 2400, 'white', '2026-04-30', { sizes: ['xs', 's', 'm', 'l', 'xl'], summary: 'Heavyweight jersey, cut a little long.' }),
  P('502', 'apparel', 'Packable rain jacket', 14900, 'red', '2026-09-08', { was: 17900, sizes: ['s', 'm', 'l', 'xl'], summary: 'Waterproof, breathable, folds into its pocket.' }),
  P('503', 'apparel', 'Wool beanie', 2200, 'grey', '2025-11-03', { summary: 'Ribbed lambswool, one size.' }),
  P('504', 'apparel', 'Denim jacket', 9800, 'blue', '2026-02-24', { sizes: ['s', 'm', 'l'], summary: 'Rigid selvedge denim that breaks in with you.' }),
];

export const PRODUCT_BY_ID = new Map(PRODUCTS.map((p) => [p.id, p]));
export const CATEGORY_BY_SLUG = new Map(CATEGORIES.map((c) => [c.slug, c]));

export const SORTS = {
  price_asc: { label: 'Price: low to high', cmp: (a, b) => a.price - b.price || a.id.localeCompare(b.id) },
  price_desc: { label: 'Price: high to low', cmp: (a, b) => b.price - a.price || a.id.localeCompare(b.id) },
  newest: { label: 'Newest', cmp: (a, b) => b.added.localeCompare(a.added) || a.id.localeCompare(b.id) },
};

export function formatPrice(cents) {
  return '$' + (cents / 100).toFixed(2);
}

// Case-insensitive search over name, summary, category and colour; every word must match.
export function search(q) {
  const words = String(q || '').toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  return PRODUCTS.filter((p) => {
    const hay = [p.name, p.summary, p.category, CATEGORY_BY_SLUG.get(p.category).name, p.color].join(' ').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
