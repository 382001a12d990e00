// The dates task. The references are independent of the generator: calendar days come from a walk
// with JavaScript's Date (one UTC day at a time), month and weekday names from Intl, and a parser
// written here reads every generated string back by tokens, not by the generator's templates.
import * as assert from 'node:assert/strict';
import {
  DATE_FORMATS,
  DATE_SOURCE_ALPHABET,
  DATE_TARGET_ALPHABET,
  allDates,
  dateFormatNames,
  dateSplits,
  daysInMonth,
  formatDate,
  makeDateData,
  parseIso,
  toIso,
  weekdayOf,
  type CalendarDate,
} from '../../src/data/dates';

const DAY_MS = 86400000;
const intlName = (d: Date, part: 'month' | 'weekday'): string =>
  d.toLocaleString('en-US', { [part]: 'long', timeZone: 'UTC' }).toLowerCase();
const MONTHS = Array.from({ length: 12 }, (_, m) =>
  intlName(new Date(Date.UTC(2001, m, 1)), 'month'),
);
// 2001-01-07 was a Sunday; index 0 = Sunday like Date.getUTCDay().
const WEEKDAYS = Array.from({ length: 7 }, (_, w) =>
  intlName(new Date(Date.UTC(2001, 0, 7 + w)), 'weekday'),
);
const ORDINAL_EXCEPTIONS: Record<number, string> = {
  1: 'st',
  2: 'nd',
  3: 'rd',
  21: 'st',
  22: 'nd',
  23: 'rd',
  31: 'st',
};

interface Parsed {
  iso: string;
  weekday?: number;
}

function fail(message: string): never {
  throw new assert.AssertionError({ message });
}

function fullYear(digits: string): number {
  if (digits.length === 4) return Number(digits);
  if (digits.length !== 2) fail(`year "${digits}" has neither 2 nor 4 digits`);
  const n = Number(digits);
  return n >= 50 ? 1900 + n : 2000 + n; // the stated pivot
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** `YYYY-MM-DD` of numbers read from a string; the walk compares it with Date's own ISO form, so
 * an impossible day (31 April) cannot match. */
function iso(y: number, m: number, d: number): string {
  return `${y}-${pad2(m)}-${pad2(d)}`;
}

/** Words a date may contain: full and three-letter month and weekday names, from Intl. */
const WORDS = new Map<string, { weekday?: number; month?: number }>();
MONTHS.forEach((n, m) => {
  WORDS.set(n, { month: m + 1 });
  WORDS.set(n.slice(0, 3), { month: m + 1 });
});
WEEKDAYS.forEach((n, w) => {
  WORDS.set(n, { weekday: w });
  WORDS.set(n.slice(0, 3), { weekday: w });
});
WORDS.set('the', {});
WORDS.set('of', {});

/** Reads a human-written date back, by tokens. Throws on anything it does not understand. */
function parseHuman(s: string): Parsed {
  if (!/[A-Za-z]/.test(s)) {
    if (/^\d{8}$/.test(s)) return { iso: iso(+s.slice(0, 4), +s.slice(4, 6), +s.slice(6)) };
    const m = /^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})$/.exec(s);
    if (!m) fail(`unparsable numeric date "${s}"`);
    const [, a, sep, b, c] = m;
    if (a.length === 4) return { iso: iso(+a, +b, +c) };
    if (sep === '/') return { iso: iso(fullYear(c), +a, +b) }; // month first
    return { iso: iso(fullYear(c), +b, +a) }; // day first
  }
  const tokens = s.toLowerCase().match(/'\d+|\d+[a-z]*|[a-z]+|[^a-z\d\s]/g) ?? [];
  let month: number | undefined;
  let weekday: number | undefined;
  const numbers: string[] = [];
  for (const tok of tokens) {
    if (tok === ',' || tok === '-') continue;
    const word = WORDS.get(tok);
    if (word) {
      if (word.weekday !== undefined) {
        if (weekday !== undefined) fail(`two weekdays in "${s}"`);
        weekday = word.weekday;
      } else if (word.month !== undefined) {
        if (month !== undefined) fail(`two months in "${s}"`);
        month = word.month;
      }
      continue;
    }
    const m = /^('?)(\d+)([a-z]*)$/.exec(tok);
    if (!m) fail(`unknown token "${tok}" in "${s}"`);
    if (m[3] !== '' && m[3] !== (ORDINAL_EXCEPTIONS[Number(m[2])] ?? 'th')) {
      fail(`wrong ordinal "${tok}" in "${s}"`);
    }
    if (m[1] === "'" && m[2].length !== 2)
      fail(`"'" before a year of ${m[2].length} digits in "${s}"`);
    numbers.push(m[2]);
  }
  if (month === undefined) fail(`no month name in "${s}"`);
  if (numbers.length !== 2) fail(`expected a day and a year in "${s}"`);
  const [day, year] = numbers;
  if (day.length > 2) fail(`day "${day}" in "${s}"`);
  return { iso: iso(fullYear(year), month, Number(day)), weekday };
}

/** Every calendar day of 1950-2049, walked with Date one UTC day at a time. */
function walkDays(): { date: CalendarDate; iso: string; weekday: number }[] {
  const out = [];
  for (let t = Date.UTC(1950, 0, 1); t <= Date.UTC(2049, 11, 31); t += DAY_MS) {
    const d = new Date(t);
    out.push({
      date: { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() },
      iso: d.toISOString().slice(0, 10),
      weekday: d.getUTCDay(),
    });
  }
  return out;
}

describe('dates: human-readable -> ISO', () => {
  it('writes a known date in every format as a person would (hand-written)', () => {
    // 3 July 2021 was a Saturday; 29 February 2000 a Tuesday.
    const expected: Record<string, [string, string]> = {
      'M/D/YYYY': ['7/3/2021', '2/29/2000'],
      'MM/DD/YYYY': ['07/03/2021', '02/29/2000'],
      'M/D/YY': ['7/3/21', '2/29/00'],
      'DD.MM.YYYY': ['03.07.2021', '29.02.2000'],
      'D.M.YY': ['3.7.21', '29.2.00'],
      'DD-MM-YYYY': ['03-07-2021', '29-02-2000'],
      'YYYY/MM/DD': ['2021/07/03', '2000/02/29'],
      'YYYY.M.D': ['2021.7.3', '2000.2.29'],
      YYYYMMDD: ['20210703', '20000229'],
      'D MMMM YYYY': ['3 July 2021', '29 February 2000'],
      'MMMM D, YYYY': ['July 3, 2021', 'February 29, 2000'],
      'D MMM YYYY': ['3 Jul 2021', '29 Feb 2000'],
      'MMM D, YYYY': ['Jul 3, 2021', 'Feb 29, 2000'],
      'DD-MMM-YYYY upper': ['03-JUL-2021', '29-FEB-2000'],
      "MMM D, 'YY": ["Jul 3, '21", "Feb 29, '00"],
      'D MMM YY': ['3 Jul 21', '29 Feb 00'],
      'EEEE, MMMM D, YYYY': ['Saturday, July 3, 2021', 'Tuesday, February 29, 2000'],
      'EEE D MMM YYYY': ['Sat 3 Jul 2021', 'Tue 29 Feb 2000'],
      'EEEE D MMMM YYYY': ['Saturday 3 July 2021', 'Tuesday 29 February 2000'],
      'the Do of MMMM YYYY': ['the 3rd of July 2021', 'the 29th of February 2000'],
      'MMMM Do, YYYY': ['July 3rd, 2021', 'February 29th, 2000'],
      'Do MMM YYYY': ['3rd Jul 2021', '29th Feb 2000'],
      'MMMM D, YYYY upper': ['JULY 3, 2021', 'FEBRUARY 29, 2000'],
      'D MMMM YYYY lower': ['3 july 2021', '29 february 2000'],
      'EEEE, D MMMM YYYY lower': ['saturday, 3 july 2021', 'tuesday, 29 february 2000'],
      'EEE, MMM Do YYYY upper': ['SAT, JUL 3RD 2021', 'TUE, FEB 29TH 2000'],
    };
    assert.deepEqual(dateFormatNames().sort(), Object.keys(expected).sort());
    for (const [name, [a, b]] of Object.entries(expected)) {
      assert.equal(formatDate({ year: 2021, month: 7, day: 3 }, name), a, name);
      assert.equal(formatDate('2000-02-29', name), b, name);
    }
    assert.equal(formatDate('2011-11-11', 'the Do of MMMM YYYY'), 'the 11th of November 2011');
    assert.equal(formatDate('2012-12-22', 'Do MMM YYYY'), '22nd Dec 2012');
  });

  it('has at least 20 formats of every promised kind', () => {
    const samples = DATE_FORMATS.map((_, i) => formatDate('2021-07-03', i));
    assert.ok(DATE_FORMATS.length >= 20, `${DATE_FORMATS.length} formats`);
    assert.equal(new Set(samples).size, samples.length, 'two formats write the same string');
    const count = (re: RegExp): number => samples.filter((s) => re.test(s)).length;
    for (const [sep, n] of [
      ['/', 3],
      ['.', 3],
      ['-', 1],
    ] as const) {
      assert.ok(count(new RegExp(`^\\d+\\${sep}\\d+\\${sep}\\d+$`)) >= n, `numeric with ${sep}`);
    }
    assert.ok(count(/^20210703$/) === 1, 'no separator');
    assert.ok(count(/July/) >= 3 && count(/\bJul\b/) >= 3, 'month names and abbreviations');
    assert.ok(count(/saturday|sat\b/i) >= 3, 'weekdays');
    assert.ok(count(/3rd/i) >= 3, 'ordinals');
    assert.ok(count(/(^|[^\d])21$/) >= 3, 'two-digit years');
    assert.ok(count(/JUL/) >= 2 && count(/july/) >= 2, 'upper and lower case');
  });

  it('covers every calendar day of 1950-2049, and each round-trips through every format', function () {
    this.timeout(30000);
    const days = walkDays();
    assert.equal(days.length, 36525);
    const generated = allDates();
    assert.deepEqual(
      generated.map((d) => toIso(d)),
      days.map((d) => d.iso),
      'allDates() differs from the calendar',
    );
    const byDay = (n: number): number => days.filter((d) => d.date.day === n).length;
    assert.deepEqual([byDay(29), byDay(30), byDay(31)], [1125, 1100, 700]);
    assert.equal(days.filter((d) => d.date.month === 2 && d.date.day === 29).length, 25);
    const alphabet = new Set(DATE_SOURCE_ALPHABET);
    let checked = 0;
    for (const { date, iso: expected, weekday } of days) {
      assert.equal(weekdayOf(date), weekday, `weekday of ${expected}`);
      for (let f = 0; f < DATE_FORMATS.length; f++) {
        const s = formatDate(date, f);
        const parsed = parseHuman(s);
        if (parsed.iso !== expected) {
          assert.fail(`${DATE_FORMATS[f].name}: "${s}" reads as ${parsed.iso}, not ${expected}`);
        }
        if (parsed.weekday !== undefined && parsed.weekday !== weekday) {
          assert.fail(`"${s}" names weekday ${WEEKDAYS[parsed.weekday]} for ${expected}`);
        }
        for (const ch of s) if (!alphabet.has(ch)) assert.fail(`"${ch}" of "${s}" not in alphabet`);
        checked++;
      }
    }
    assert.equal(checked, 36525 * DATE_FORMATS.length);
  });

  it('splits by calendar date: disjoint, complete, seeded, with the stated sizes', () => {
    const s = dateSplits({ seed: 5 });
    assert.deepEqual([s.train.length, s.valid.length, s.test.length], [33525, 1000, 2000]);
    const key = (d: CalendarDate): string => toIso(d);
    const train = new Set(s.train.map(key));
    const valid = new Set(s.valid.map(key));
    const test = new Set(s.test.map(key));
    assert.equal(train.size + valid.size + test.size, 36525, 'a date repeats within a split');
    for (const d of valid) assert.ok(!train.has(d), `${d} in train and valid`);
    for (const d of test)
      assert.ok(!train.has(d) && !valid.has(d), `${d} in test and another split`);
    assert.deepEqual(dateSplits({ seed: 5 }), s);
    assert.notDeepEqual(dateSplits({ seed: 6 }).test, s.test);
    // The holes of a popular generator: days 29-31 and leap days must be in training and test.
    for (const split of [s.train, s.test]) {
      for (const day of [29, 30, 31])
        assert.ok(
          split.some((d) => d.day === day),
          `day ${day}`,
        );
    }
    assert.ok(
      s.train.some((d) => d.month === 2 && d.day === 29),
      '29 February in train',
    );
    assert.deepEqual(
      [
        dateSplits({ testSize: 10, validSize: 0 }).test.length,
        dateSplits({ validSize: 3 }).valid.length,
      ],
      [10, 3],
    );
  });

  it('pairs each split with balanced formats; targets read back; no test date in training', () => {
    const data = makeDateData({ seed: 2 });
    assert.deepEqual([data.train.length, data.valid.length, data.test.length], [33525, 1000, 2000]);
    const trainTargets = new Set(data.train.map((p) => p.target));
    for (const p of [...data.valid, ...data.test]) {
      assert.ok(!trainTargets.has(p.target), `${p.target} is in training`);
    }
    for (const p of [...data.test, ...data.train.slice(0, 500)]) {
      assert.equal(parseHuman(p.source).iso, p.target, `${p.format}: "${p.source}"`);
      for (const ch of p.target) assert.ok(DATE_TARGET_ALPHABET.includes(ch));
    }
    const counts = new Map<string, number>();
    for (const p of data.test) counts.set(p.format, (counts.get(p.format) ?? 0) + 1);
    assert.equal(counts.size, DATE_FORMATS.length);
    for (const [f, n] of counts) assert.ok(n === 76 || n === 77, `${f}: ${n} of 2000 test dates`);
    assert.deepEqual(makeDateData({ seed: 2 }).test, data.test);
    assert.equal(data.sourceVocab.size, DATE_SOURCE_ALPHABET.length + 3);
    assert.equal(data.targetVocab.size, 11 + 3);
  });

  it('knows its calendar rules (hand-checked) and rejects bad input, naming it', () => {
    assert.deepEqual(
      [
        daysInMonth(2000, 2),
        daysInMonth(1900 + 100, 2),
        daysInMonth(2049, 2),
        daysInMonth(1952, 2),
      ],
      [29, 29, 28, 29],
    );
    assert.equal(daysInMonth(2021, 4), 30);
    assert.deepEqual(parseIso('1950-01-01'), { year: 1950, month: 1, day: 1 });
    assert.throws(
      () => parseIso('2021-02-29'),
      /day: expected an integer in \[1, 28\] for 2021-02, got 29/,
    );
    assert.throws(
      () => parseIso('2050-01-01'),
      /year: expected an integer in \[1950, 2049\], got 2050/,
    );
    assert.throws(
      () => parseIso('3 July 2021'),
      /parseIso: iso: expected "YYYY-MM-DD", got "3 July 2021"/,
    );
    assert.throws(
      () => formatDate({ year: 2021, month: 4, day: 31 }, 0),
      /formatDate: date: day: expected an integer in \[1, 30\]/,
    );
    assert.throws(() => formatDate('2021-07-03', 'YYYY'), /formatDate: format: expected one of/);
    assert.throws(
      () => formatDate('2021-07-03', 26),
      /formatDate: format: expected an integer in \[0, 25\], got number 26/,
    );
    assert.throws(() => dateSplits({ testSize: -1 }), /dateSplits: testSize: expected an integer/);
    assert.throws(() => makeDateData({ seed: 1.5 }), /makeDateData: seed: expected an integer/);
  });
});
