/**
 * Human-readable dates paired with ISO dates (`"the 3rd of July 2021"` -> `"2021-07-03"`), the
 * data of chapters 03, 04 and 06. Generated, not downloaded: deterministic, offline, seeded.
 *
 * - **Range**: every calendar day from 1950-01-01 to 2049-12-31 (36,525 days), including the 29th,
 *   30th and 31st of every month that has them and 29 February of the 25 leap years 1952-2048
 *   (2000 is one). One popular date-conversion example never generated days 29-31; a test here
 *   walks every day of the range through every format.
 * - **Two-digit years** use the pivot 50: `50`-`99` mean 1950-1999 and `00`-`49` mean 2000-2049,
 *   so inside the range a two-digit year is never ambiguous.
 * - **Formats**: 26 (`DATE_FORMATS`), numeric and with month or weekday names, ordinals, mixed
 *   case. Each string belongs to exactly one date: the numeric order is told by the separator
 *   (`/` is month first as in the US, `.` and `-` are day first, a four-digit first field is the
 *   year), so a model can reach 100%.
 * - **Splits** by calendar date (`dateSplits`): validation and test dates never occur in training,
 *   in any format, so the test measures generalisation to unseen days, not recall.
 */
import { shuffled } from '../core/random';
import { checkInt } from '../core/shapes';
import { CharVocab } from './vocab';

/** First year of the range. */
export const FIRST_YEAR = 1950;
/** Last year of the range. */
export const LAST_YEAR = 2049;

/** A calendar day; `month` is 1-12, `day` 1-31. */
export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Month names, January first. */
export const MONTH_NAMES: readonly string[] = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Weekday names, Sunday first (index = day of the week as `weekdayOf` returns it). */
export const WEEKDAY_NAMES: readonly string[] = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
];

/** Whether `year` has a 29 February (Gregorian rule: every 4th year, not centuries unless /400). */
export function isLeapYear(year: number): boolean {
  checkInt(year, 'isLeapYear: year', -1e6, 1e6);
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Number of days of `month` (1-12) in `year`. */
export function daysInMonth(year: number, month: number): number {
  checkInt(month, 'daysInMonth: month', 1, 12);
  return month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1];
}

/** Day of the week, 0 = Sunday ... 6 = Saturday (Sakamoto's method). */
export function weekdayOf(date: CalendarDate): number {
  checkDate(date, 'weekdayOf: date');
  const t = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
  const y = date.month < 3 ? date.year - 1 : date.year;
  const w =
    y +
    Math.floor(y / 4) -
    Math.floor(y / 100) +
    Math.floor(y / 400) +
    t[date.month - 1] +
    date.day;
  return w % 7;
}

function checkDate(date: unknown, name: string): asserts date is CalendarDate {
  const d = date as CalendarDate;
  if (d === null || typeof d !== 'object') {
    throw new TypeError(`${name}: expected { year, month, day }, got ${String(date)}`);
  }
  const { year, month, day } = d;
  if (!Number.isInteger(year) || year < FIRST_YEAR || year > LAST_YEAR) {
    throw new RangeError(
      `${name}: year: expected an integer in [${FIRST_YEAR}, ${LAST_YEAR}], got ${String(year)}`,
    );
  }
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new RangeError(`${name}: month: expected an integer in [1, 12], got ${String(month)}`);
  }
  const last = daysInMonth(year, month);
  if (!Number.isInteger(day) || day < 1 || day > last) {
    throw new RangeError(
      `${name}: day: expected an integer in [1, ${last}] for ${year}-${pad2(month)}, got ${String(day)}`,
    );
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** The ISO form `YYYY-MM-DD` of a date: the target the models learn to write. */
export function toIso(date: CalendarDate): string {
  checkDate(date, 'toIso: date');
  return `${date.year}-${pad2(date.month)}-${pad2(date.day)}`;
}

/** Reads an ISO date `YYYY-MM-DD` inside the range; throws naming what is wrong. */
export function parseIso(iso: string): CalendarDate {
  const m = typeof iso === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso) : null;
  if (!m) throw new RangeError(`parseIso: iso: expected "YYYY-MM-DD", got ${JSON.stringify(iso)}`);
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  checkDate(date, `parseIso: ${iso}`);
  return date;
}

/** Every day of the range, in calendar order (36,525 dates). */
export function allDates(): CalendarDate[] {
  const out: CalendarDate[] = [];
  for (let year = FIRST_YEAR; year <= LAST_YEAR; year++) {
    for (let month = 1; month <= 12; month++) {
      const last = daysInMonth(year, month);
      for (let day = 1; day <= last; day++) out.push({ year, month, day });
    }
  }
  return out;
}

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** A way of writing a date. */
export interface DateFormat {
  /** A short name, e.g. `'D MMMM YYYY'` or `'ordinal the-of'`. */
  readonly name: string;
  /** The date written this way. */
  readonly write: (date: CalendarDate, weekday: number) => string;
}

const yy = (d: CalendarDate): string => pad2(d.year % 100);
const month = (d: CalendarDate): string => MONTH_NAMES[d.month - 1];
const mon = (d: CalendarDate): string => MONTH_NAMES[d.month - 1].slice(0, 3);
const wday = (w: number): string => WEEKDAY_NAMES[w];
const wd = (w: number): string => WEEKDAY_NAMES[w].slice(0, 3);

/**
 * The 26 formats, by name. Letters: `D`/`DD` day (unpadded/padded), `M`/`MM` month number,
 * `MMM`/`MMMM` month abbreviation/name, `YY`/`YYYY` year, `EEE`/`EEEE` weekday
 * abbreviation/name; `Do` ordinal day (`3rd`); upper/lower mark the case of names.
 */
export const DATE_FORMATS: readonly DateFormat[] = Object.freeze([
  // numeric: "/" is month first (US), "." and "-" are day first, four digits first is the year
  { name: 'M/D/YYYY', write: (d) => `${d.month}/${d.day}/${d.year}` },
  { name: 'MM/DD/YYYY', write: (d) => `${pad2(d.month)}/${pad2(d.day)}/${d.year}` },
  { name: 'M/D/YY', write: (d) => `${d.month}/${d.day}/${yy(d)}` },
  { name: 'DD.MM.YYYY', write: (d) => `${pad2(d.day)}.${pad2(d.month)}.${d.year}` },
  { name: 'D.M.YY', write: (d) => `${d.day}.${d.month}.${yy(d)}` },
  { name: 'DD-MM-YYYY', write: (d) => `${pad2(d.day)}-${pad2(d.month)}-${d.year}` },
  { name: 'YYYY/MM/DD', write: (d) => `${d.year}/${pad2(d.month)}/${pad2(d.day)}` },
  { name: 'YYYY.M.D', write: (d) => `${d.year}.${d.month}.${d.day}` },
  { name: 'YYYYMMDD', write: (d) => `${d.year}${pad2(d.month)}${pad2(d.day)}` },
  // month names and abbreviations
  { name: 'D MMMM YYYY', write: (d) => `${d.day} ${month(d)} ${d.year}` },
  { name: 'MMMM D, YYYY', write: (d) => `${month(d)} ${d.day}, ${d.year}` },
  { name: 'D MMM YYYY', write: (d) => `${d.day} ${mon(d)} ${d.year}` },
  { name: 'MMM D, YYYY', write: (d) => `${mon(d)} ${d.day}, ${d.year}` },
  { name: 'DD-MMM-YYYY upper', write: (d) => `${pad2(d.day)}-${mon(d).toUpperCase()}-${d.year}` },
  { name: "MMM D, 'YY", write: (d) => `${mon(d)} ${d.day}, '${yy(d)}` },
  { name: 'D MMM YY', write: (d) => `${d.day} ${mon(d)} ${yy(d)}` },
  // weekdays
  { name: 'EEEE, MMMM D, YYYY', write: (d, w) => `${wday(w)}, ${month(d)} ${d.day}, ${d.year}` },
  { name: 'EEE D MMM YYYY', write: (d, w) => `${wd(w)} ${d.day} ${mon(d)} ${d.year}` },
  { name: 'EEEE D MMMM YYYY', write: (d, w) => `${wday(w)} ${d.day} ${month(d)} ${d.year}` },
  // ordinals
  { name: 'the Do of MMMM YYYY', write: (d) => `the ${ordinal(d.day)} of ${month(d)} ${d.year}` },
  { name: 'MMMM Do, YYYY', write: (d) => `${month(d)} ${ordinal(d.day)}, ${d.year}` },
  { name: 'Do MMM YYYY', write: (d) => `${ordinal(d.day)} ${mon(d)} ${d.year}` },
  // mixed case
  { name: 'MMMM D, YYYY upper', write: (d) => `${month(d).toUpperCase()} ${d.day}, ${d.year}` },
  { name: 'D MMMM YYYY lower', write: (d) => `${d.day} ${month(d).toLowerCase()} ${d.year}` },
  {
    name: 'EEEE, D MMMM YYYY lower',
    write: (d, w) => `${wday(w).toLowerCase()}, ${d.day} ${month(d).toLowerCase()} ${d.year}`,
  },
  {
    name: 'EEE, MMM Do YYYY upper',
    write: (d, w) => `${wd(w)}, ${mon(d)} ${ordinal(d.day)} ${d.year}`.toUpperCase(),
  },
]);

const FORMAT_INDEX = new Map(DATE_FORMATS.map((f, i) => [f.name, i]));

/** The names of the formats, in `DATE_FORMATS` order. */
export function dateFormatNames(): string[] {
  return DATE_FORMATS.map((f) => f.name);
}

/**
 * Writes a date in one format (a name from `dateFormatNames()` or an index into `DATE_FORMATS`).
 *
 * ```ts
 * formatDate({ year: 2021, month: 7, day: 3 }, 'the Do of MMMM YYYY'); // 'the 3rd of July 2021'
 * ```
 * @param date a date in 1950-2049, as `{ year, month, day }` or an ISO string
 */
export function formatDate(date: CalendarDate | string, format: string | number): string {
  const d = typeof date === 'string' ? parseIso(date) : date;
  checkDate(d, 'formatDate: date');
  let index: number | undefined;
  if (typeof format === 'number') {
    checkInt(format, 'formatDate: format', 0, DATE_FORMATS.length - 1);
    index = format;
  } else {
    index = FORMAT_INDEX.get(format);
    if (index === undefined) {
      throw new RangeError(
        `formatDate: format: expected one of ${DATE_FORMATS.map((f) => JSON.stringify(f.name)).join(', ')}, got ${JSON.stringify(format)}`,
      );
    }
  }
  return DATE_FORMATS[index].write(d, weekdayOf(d));
}

/**
 * Every character any format can write: digits, the letters of both cases, space and `,./-'`.
 * The source vocabulary of the dates task is built from it.
 */
export const DATE_SOURCE_ALPHABET =
  " ',-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** The characters of an ISO date: digits and `-`. */
export const DATE_TARGET_ALPHABET = '-0123456789';

/** The source (human-readable) and target (ISO) vocabularies of the dates task. */
export function dateVocabs(): { source: CharVocab; target: CharVocab } {
  return {
    source: new CharVocab(DATE_SOURCE_ALPHABET),
    target: new CharVocab(DATE_TARGET_ALPHABET),
  };
}

/** Options of `dateSplits` and `makeDateData`. */
export interface DateSplitOptions {
  /** Seed of the shuffle that deals the dates into splits (and of formats). Defaults to 0. */
  seed?: number;
  /** Number of validation dates. Defaults to 1,000. */
  validSize?: number;
  /** Number of test dates. Defaults to 2,000. */
  testSize?: number;
}

/** Dates dealt into three disjoint sets; each in calendar order. */
export interface DateSplits {
  /** Every date not in `valid` or `test` (33,525 with the defaults). */
  train: CalendarDate[];
  valid: CalendarDate[];
  test: CalendarDate[];
}

function checkSplitOptions(opts: DateSplitOptions, name: string): Required<DateSplitOptions> {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`${name}: options: expected an object, got ${String(opts)}`);
  }
  const { seed = 0, validSize = 1000, testSize = 2000 } = opts;
  checkInt(seed, `${name}: seed`, 0);
  const total = (LAST_YEAR - FIRST_YEAR + 1) * 365 + 25;
  checkInt(validSize, `${name}: validSize`, 0, total - 1);
  checkInt(testSize, `${name}: testSize`, 0, total - 1 - validSize);
  return { seed, validSize, testSize };
}

/**
 * Splits the calendar days of the range into train / validation / test by date, from a seeded
 * shuffle: no day is in two splits, so a test date is never seen in training in any format.
 */
export function dateSplits(opts: DateSplitOptions = {}): DateSplits {
  const { seed, validSize, testSize } = checkSplitOptions(opts, 'dateSplits');
  const order = shuffled(
    allDates().map((_, i) => i),
    seed,
  );
  const dates = allDates();
  const pick = (idx: number[]): CalendarDate[] => idx.sort((a, b) => a - b).map((i) => dates[i]);
  return {
    test: pick(order.slice(0, testSize)),
    valid: pick(order.slice(testSize, testSize + validSize)),
    train: pick(order.slice(testSize + validSize)),
  };
}

/** One example: a human-readable date and its ISO form. */
export interface DatePair {
  /** The date as a person writes it, e.g. `'the 3rd of July 2021'`. */
  source: string;
  /** The ISO date, e.g. `'2021-07-03'`. */
  target: string;
  /** The name of the format of `source`. */
  format: string;
}

/** The dates task, ready to batch. */
export interface DateData {
  /** One pair per training date (33,525 with the defaults), in a seeded random order. */
  train: DatePair[];
  /** One pair per validation date. */
  valid: DatePair[];
  /** One pair per test date (2,000 held-out dates with the defaults). */
  test: DatePair[];
  /** Vocabulary of the sources (`DATE_SOURCE_ALPHABET`). */
  sourceVocab: CharVocab;
  /** Vocabulary of the ISO targets (`DATE_TARGET_ALPHABET`). */
  targetVocab: CharVocab;
}

/**
 * The dates task: `dateSplits` by calendar date, each date written in one format. Within a
 * split, dates are shuffled (seeded) and the formats dealt in turn, so every format is equally
 * frequent (to within one) and pairs a random set of dates.
 *
 * ```ts
 * const data = makeDateData({ seed: 0 });
 * data.test.length; // 2000
 * data.test[0]; // { source: '...', target: 'YYYY-MM-DD', format: '...' }
 * ```
 */
export function makeDateData(opts: DateSplitOptions = {}): DateData {
  const { seed, validSize, testSize } = checkSplitOptions(opts, 'makeDateData');
  const splits = dateSplits({ seed, validSize, testSize });
  const pairs = (dates: CalendarDate[], label: number): DatePair[] =>
    shuffled(dates, (seed * 7919 + label) >>> 0).map((d, i) => {
      const f = DATE_FORMATS[i % DATE_FORMATS.length];
      return { source: f.write(d, weekdayOf(d)), target: toIso(d), format: f.name };
    });
  const { source, target } = dateVocabs();
  return {
    train: pairs(splits.train, 1),
    valid: pairs(splits.valid, 2),
    test: pairs(splits.test, 3),
    sourceVocab: source,
    targetVocab: target,
  };
}
