import { defineConfig } from "drizzle-kit";

// Only `generate` is used: migrations are committed SQL applied by src/migrate-cli.ts, so no
// credentials here (and no accidental `drizzle-kit push` against a real database).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema/index.ts",
  out: "./drizzle",
  strict: true,
  verbose: true,
});
