/**
 * An attempt's error and response go to Postgres inside one json parameter (the outcome batch's
 * json_to_recordset). Text Postgres refuses there would fail the whole batch, so every
 * delivery in it would be sent again: pgText makes any JS string safe for it. Real Postgres.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "@inboxerr/db";
import { testEnv } from "@inboxerr/testing";
import { pgText } from "./engine";

const handle = createDb(testEnv().databaseUrl, { max: 1 });
afterAll(() => handle.close());

const roundTrip = async (error: string | null) =>
  (await handle.pool.query<{ error: string | null }>(`select error from json_to_recordset($1::json) as x(error text)`, [JSON.stringify([{ error }])])).rows[0]!.error;

describe("pgText", () => {
  // An error message cut at 500 UTF-16 units can end in half an emoji.
  const cutEmoji = `${"x".repeat(499)}\u{1F600}`.slice(0, 500);

  it("is needed: Postgres refuses a lone surrogate and NUL inside json", async () => {
    await expect(roundTrip(cutEmoji)).rejects.toThrow(/json/i);
    await expect(roundTrip("a\0b")).rejects.toThrow();
  });

  it("makes any string one Postgres takes, changing only what it cannot hold", async () => {
    expect(await roundTrip(pgText(cutEmoji))).toBe(`${"x".repeat(499)}\uFFFD`);
    expect(await roundTrip(pgText("a\0b"))).toBe("ab");
    expect(await roundTrip(pgText("ok \u{1F600} \"quoted\" \\ back"))).toBe("ok \u{1F600} \"quoted\" \\ back");
    expect(pgText(null)).toBeNull();
  });
});
