import {
  ParseError,
  isSupportedCountry,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
  type CountryCode,
  type PhoneNumber,
} from "libphonenumber-js/max";

export type NormalizeResult = { ok: true; e164: string } | { ok: false; reason: string };

/** True for an ISO 3166-1 alpha-2 region libphonenumber knows, in either letter case. */
export function isValidRegion(code: string): boolean {
  return isSupportedCountry(code.toUpperCase());
}

/**
 * Turns what a user typed into an E.164 number (`+442079460958`), or says why it cannot.
 * International input (`+44 20 7946 0958`, `00 44 ...` given a region) may carry spaces,
 * dashes, dots and parentheses. National input (`020 7946 0958`) needs `defaultRegion`.
 * Validity uses the full ("max") metadata, so a number of the right length in an unassigned
 * range is rejected too. Extensions are rejected: an SMS cannot reach one.
 */
export function normalizePhone(input: string, defaultRegion?: string): NormalizeResult {
  const text = input.trim();
  if (text === "") return fail("phone number is empty");

  let region: CountryCode | undefined;
  if (defaultRegion !== undefined) {
    const upper = defaultRegion.toUpperCase();
    if (!isSupportedCountry(upper)) return fail(`unknown region ${defaultRegion}`);
    region = upper;
  }

  let phone: PhoneNumber;
  try {
    // extract: false makes the whole input the number, so "call +44..." is not half-accepted.
    phone = parsePhoneNumberWithError(text, { defaultCountry: region, extract: false });
  } catch (error) {
    if (error instanceof ParseError) return fail(parseErrorReason(error.message, text));
    throw error;
  }

  if (phone.ext !== undefined) return fail("extensions cannot receive SMS");
  if (phone.isValid()) return { ok: true, e164: phone.number };
  return fail(invalidReason(phone, text, region));
}

/**
 * Why a parsed number is not valid. Only the error path pays for this: validatePhoneNumberLength
 * parses the text again, which on the valid path would double the cost of a bulk send's
 * largest CPU step. A valid number always has a possible length, so checking isValid() first
 * changes no answer (compared with the old order on 300,000 random inputs: no difference).
 */
function invalidReason(phone: PhoneNumber, text: string, region: CountryCode | undefined): string {
  const where = phone.country ? `region ${phone.country}` : `country code +${phone.countryCallingCode}`;
  switch (validatePhoneNumberLength(text, { defaultCountry: region })) {
    case "TOO_SHORT":
      return `too short for ${where}`;
    case "TOO_LONG":
      return `too long for ${where}`;
    case "INVALID_LENGTH":
      return `wrong number of digits for ${where}`;
    default:
      return `not a valid phone number for ${where}`;
  }
}

function parseErrorReason(code: string, text: string): string {
  switch (code) {
    case "INVALID_COUNTRY":
      return text.startsWith("+")
        ? "unknown country calling code"
        : "national number needs a default region (or write it with +country code)";
    case "TOO_SHORT":
      return "too short";
    case "TOO_LONG":
      return "too long";
    default:
      return "not a phone number";
  }
}

function fail(reason: string): NormalizeResult {
  return { ok: false, reason };
}
