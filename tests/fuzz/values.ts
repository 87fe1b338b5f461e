import fc from "fast-check";
import { deep, rawNumber, repeat, type Unit } from "./bodies";

/**
 * Field values a hostile or careless client sends: strings with lone surrogates, NUL and
 * bidi controls, numbers past every integer type, dates in year 200000, the wrong type
 * altogether, and objects with prototype-pollution keys.
 */

const LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"];

const hostileChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...LONE_SURROGATES, "\u0000", "\ufeff", "\u202e", "{{", "}}", "%", "\r\n", "\\", '"') },
);

export const hostileString = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: hostileChar, maxLength });

export const bigNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 + 2, -(2 ** 63), Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, -0, 0.5),
  fc.constantFrom("1e400", "-1e400", "123456789012345678901234567890", "1E+2", "-0.0e-0", "0.00000000000000000000000000001").map(rawNumber),
);

/** Objects whose own keys are `__proto__`, `constructor`: JSON.parse makes them own properties. */
export const pollutedObject: fc.Arbitrary<unknown> = fc.constantFrom(
  '{"__proto__":{"role":"admin","isAdmin":true,"status":"delivered"}}',
  '{"constructor":{"prototype":{"role":"admin"}}}',
  '{"__proto__":null,"toString":"x","valueOf":1,"hasOwnProperty":false}',
  '{"__proto__":[1,2,3],"prototype":{}}',
).map((json) => JSON.parse(json) as unknown);

/** Any JSON value, its strings hostile, kept small (the big ones are markers). */
export const jsonish: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3, stringUnit: hostileChar });

/** The wrong type for whatever field this lands in. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  hostileString(),
  bigNumber,
  fc.boolean(),
  fc.constant(null),
  fc.array(jsonish, { maxLength: 3 }),
  jsonish,
  pollutedObject,
  fc.constantFrom(deep("array", 64), deep("object", 64)),
);

/** A valid-looking value most of the time, so requests get past the first check. */
export const mostly = <T>(good: fc.Arbitrary<T>, weight = 4): fc.Arbitrary<unknown> =>
  fc.oneof({ weight, arbitrary: good }, { weight: 1, arbitrary: hostileString() }, { weight: 1, arbitrary: junk });

export const phoneish = mostly(
  fc.oneof(
    fc.constantFrom("+14155552671", "+447700900123", "4155552671", "07700 900123"),
    fc.constantFrom("", "+", "+1", `+${"9".repeat(40)}`, "+١٤١٥٥٥٥٢٦٧١", "tel:+14155552671", "+1 (415) 555-2671 ext. 99", "+4477009\udc00", "+1415555267\u0000", "SHORTCODE"),
  ),
);

export const dateish = mostly(
  fc.oneof(
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom(
      "+200000-01-01T00:00:00Z",
      "+275760-09-13T00:00:00.000Z",
      "-000001-01-01T00:00:00Z",
      "0000-01-01T00:00:00Z",
      "9999-12-31T23:59:59-05:00",
      "2026-01-01T10:00:00",
      "2026-02-30T00:00:00Z",
      "2026-01-01T10:00:00+99:99",
      "tomorrow",
      "1700000000",
    ),
  ),
);

const templateish = mostly(
  fc.constantFrom("Hello {{name}}", "{{a}}", "{{", "}}{{", "{{}}", "{{a}}{{b}}{{c}}", "{{constructor}}", "{{__proto__}}", "{{toString}}", "{{ a }}", "plain text"),
);

// Mostly hundreds of kilobytes: multi-megabyte bodies are few but always some (the run's time goes there).
const share = fc.oneof({ weight: 4, arbitrary: fc.constant(0.02) }, { weight: 2, arbitrary: fc.constant(0.2) }, { weight: 1, arbitrary: fc.constantFrom(0.8, 0.98, 1.1) });

/** A huge string in a field: within the body limit, just over it, or well under. */
export function hugeString(maxBytes: number): fc.Arbitrary<string> {
  const units: Array<[Unit, number]> = [
    ["x", 1],
    ["e", 2],
    ["emoji", 4],
    ["lone", 6],
    ["tpl", 5],
  ];
  return fc
    .tuple(fc.constantFrom(...units), share, fc.constantFrom<Unit>("none", "tpl"))
    .map(([[unit, bytes], part, suffix]) => repeat(unit, Math.floor((maxBytes * part) / bytes), suffix));
}

export const textish = (maxBytes: number): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 6, arbitrary: hostileString(160) }, { weight: 2, arbitrary: templateish }, { weight: 1, arbitrary: hugeString(maxBytes) }, { weight: 1, arbitrary: junk });

export const variablesish: fc.Arbitrary<unknown> = mostly(
  fc.oneof(fc.dictionary(fc.constantFrom("a", "name", "b", "__proto__", "constructor", ""), fc.oneof(hostileString(), bigNumber)), pollutedObject),
);

export const emailish = mostly(
  fc.oneof(
    fc.stringMatching(/^[a-z0-9.+]{1,12}@example\.com$/),
    fc.constantFrom("a@b", "@example.com", "x@", `${"x".repeat(300)}@example.com`, "Fuzz@Example.COM", "a@b@c", "a\u0000@example.com"),
  ),
);

/** An object with the route's fields, each present or not, each valid or not. */
export const shaped = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
  fc.record(fields, { requiredKeys: [] }).chain((obj) => fc.oneof({ weight: 5, arbitrary: fc.constant(obj) }, { weight: 1, arbitrary: pollutedObject.map((p) => ({ ...(p as object), ...obj })) }));
