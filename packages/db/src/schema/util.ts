import { sql, type SQL } from "drizzle-orm";
import { timestamp, uuid } from "drizzle-orm/pg-core";

/** Every timestamp in the schema is `timestamp with time zone`, read as a Date. */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

// Helpers return fresh builders: a column builder must not be shared between tables.
export const uuidPk = () => ({ id: uuid("id").primaryKey().defaultRandom() });

export const createdAt = () => ({ createdAt: tstz("created_at").notNull().defaultNow() });

export const timestamps = () => ({
  ...createdAt(),
  // $onUpdate keeps it current for drizzle updates; raw SQL updates set it themselves.
  updatedAt: tstz("updated_at")
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date()),
});

/** A SQL literal list `('a', 'b')` for CHECK constraints and partial-index predicates. */
export function sqlList(values: readonly string[]): SQL {
  return sql.raw(`(${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")})`);
}
