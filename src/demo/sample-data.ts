/**
 * The demo's made-up shop: customers with realistic-looking but fake personal data, their
 * orders and a product list. Generated from a fixed seed, so every run (and every test) sees
 * the same rows. Every value is fake by construction:
 * - phones use 555-0100…555-0199, the range reserved for fiction in the North American plan;
 * - SSNs start with 9, an area number the SSA never issues;
 * - card numbers use the 4111 11 test BIN and only pass the Luhn check.
 */

/** One row of `customers`. */
export interface Customer {
  id: number;
  fullName: string;
  email: string;
  phone: string;
  ssn: string;
  cardNumber: string;
  city: string;
  createdAt: Date;
}

/** One row of `orders`. */
export interface Order {
  id: number;
  customerId: number;
  /** Two decimals, as text, so no float rounding reaches `numeric(10,2)`. */
  amount: string;
  status: OrderStatus;
  createdAt: Date;
}

/** One row of `products`. */
export interface Product {
  id: number;
  name: string;
  /** Two decimals, as text. */
  price: string;
}

/** Where an order is in its life; `paid` orders are the ones waiting to be shipped. */
export type OrderStatus = 'pending' | 'paid' | 'shipped' | 'delivered' | 'refunded';

/** The whole data set. */
export interface SampleData {
  customers: Customer[];
  orders: Order[];
  products: Product[];
}

/** How much data `jit demo` loads (its progress line quotes these numbers). */
export const SAMPLE_SIZE = { customers: 200, orders: 1_000, products: 20 } as const;

// prettier-ignore
const FIRST_NAMES = [
  'Maria', 'James', 'Aisha', 'Wei', 'Sofia', 'Liam', 'Priya', 'Mateo', 'Olivia', 'Noah',
  'Fatima', 'Lucas', 'Emma', 'Hiroshi', 'Chloe', 'Daniel', 'Amara', 'Ethan', 'Zoe', 'Omar',
  'Grace', 'Diego', 'Hannah', 'Kwame', 'Isabella', 'Samuel', 'Mei', 'Jonas', 'Léa', 'José',
];
// prettier-ignore
const LAST_NAMES = [
  'Garcia', 'Smith', 'Johnson', 'Nguyen', 'Patel', 'Kim', 'Müller', 'Rossi', 'Okafor', 'Brown',
  'Martinez', 'Chen', 'Williams', 'Silva', 'Kowalski', 'Hernández', 'Anderson', 'Tanaka', 'Dubois', 'Lopez',
  'Jones', 'Ivanova', 'Davis', 'Haddad', 'Wilson', "O'Brien", 'Taylor', 'Moore', 'Clark', 'Lewis',
];
/** Cities with one of their real area codes, so phone numbers look local. */
const CITIES: ReadonlyArray<readonly [city: string, areaCode: string]> = [
  ['New York', '212'],
  ['Los Angeles', '213'],
  ['Chicago', '312'],
  ['Houston', '713'],
  ['Phoenix', '602'],
  ['Philadelphia', '215'],
  ['San Antonio', '210'],
  ['San Diego', '619'],
  ['Dallas', '214'],
  ['Austin', '512'],
  ['Seattle', '206'],
  ['Denver', '303'],
  ['Boston', '617'],
  ['Portland', '503'],
  ['Atlanta', '404'],
];
const PRODUCTS: ReadonlyArray<readonly [name: string, price: string]> = [
  ['Espresso beans, 1 kg', '24.90'],
  ['Pour-over kettle', '49.00'],
  ['Ceramic mug', '12.50'],
  ['Burr grinder', '129.00'],
  ['Paper filters (100)', '6.90'],
  ['Cold brew bottle', '19.90'],
  ['Milk frother', '34.00'],
  ['Travel tumbler', '27.50'],
  ['Green tea, 250 g', '14.20'],
  ['Oat milk, 6 pack', '17.40'],
  ['Digital scale', '39.90'],
  ['French press', '32.00'],
  ['Decaf beans, 500 g', '13.90'],
  ['Moka pot', '44.00'],
  ['Tasting notebook', '9.50'],
  ['Gift card', '50.00'],
  ['Barista apron', '29.00'],
  ['Descaling tablets', '11.90'],
  ['Coffee subscription, 3 months', '69.00'],
  ['Cup sleeves (50)', '7.80'],
];
const STATUS_WEIGHTS: ReadonlyArray<readonly [OrderStatus, number]> = [
  ['delivered', 55],
  ['shipped', 15],
  ['paid', 15],
  ['pending', 10],
  ['refunded', 5],
];
const SEED = 0x5eed_2024;
/** Customers sign up between these dates; fixed so the data never depends on today. */
const FIRST_SIGNUP = Date.UTC(2023, 0, 1);
const DAY_MS = 86_400_000;
const SIGNUP_DAYS = 730;

/** Builds the sample data set; the same arguments always give the same rows. */
export function generateSampleData(size: { customers: number; orders: number } = SAMPLE_SIZE): SampleData {
  const random = mulberry32(SEED);
  const customers = Array.from({ length: size.customers }, (_, i) => makeCustomer(i + 1, random));
  const orders = Array.from({ length: size.orders }, (_, i) => makeOrder(i + 1, customers, random));
  const products = PRODUCTS.map(([name, price], i) => ({ id: i + 1, name, price }));
  return { customers, orders, products };
}

function makeCustomer(id: number, random: Random): Customer {
  const first = pick(FIRST_NAMES, random);
  const last = pick(LAST_NAMES, random);
  const [city, areaCode] = pick(CITIES, random);
  const emailName = `${ascii(first)}.${ascii(last)}`;
  return {
    id,
    fullName: `${first} ${last}`,
    email: `${emailName}${integer(random, 1, 99)}@example.com`,
    phone: `+1-${areaCode}-555-01${digits(random, 2)}`,
    ssn: `9${digits(random, 2)}-${pad(integer(random, 1, 99), 2)}-${pad(integer(random, 1, 9999), 4)}`,
    cardNumber: withLuhnCheckDigit(`411111${digits(random, 9)}`),
    city,
    createdAt: new Date(FIRST_SIGNUP + Math.floor(random() * SIGNUP_DAYS * DAY_MS)),
  };
}

function makeOrder(id: number, customers: Customer[], random: Random): Order {
  const customer = pick(customers, random);
  const cents = integer(random, 5_00, 400_00);
  return {
    id,
    customerId: customer.id,
    amount: `${Math.floor(cents / 100)}.${pad(cents % 100, 2)}`,
    status: weighted(STATUS_WEIGHTS, random),
    createdAt: new Date(customer.createdAt.getTime() + Math.floor(random() * 180 * DAY_MS)),
  };
}

/** Appends the Luhn check digit that makes `payload` a valid card number. */
export function withLuhnCheckDigit(payload: string): string {
  for (let check = 0; check <= 9; check++) {
    if (passesLuhn(`${payload}${check}`)) return `${payload}${check}`;
  }
  throw new Error(`unreachable: no Luhn check digit for ${payload}`);
}

/** The Luhn (mod 10) check that card numbers satisfy. */
export function passesLuhn(number: string): boolean {
  if (!/^\d+$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let digit = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

type Random = () => number;

/** A small seeded PRNG (mulberry32): deterministic, good enough for fake data. */
function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function integer(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(items: readonly T[], random: Random): T {
  return items[Math.floor(random() * items.length)] as T;
}

function weighted<T>(choices: ReadonlyArray<readonly [T, number]>, random: Random): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of choices) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return (choices[choices.length - 1] as readonly [T, number])[0];
}

function digits(random: Random, count: number): string {
  return Array.from({ length: count }, () => String(Math.floor(random() * 10))).join('');
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `Müller` → `muller`, `O'Brien` → `obrien`: what a shop would put in an email address. */
function ascii(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}
