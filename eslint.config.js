import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/.turbo/**", "packages/db/drizzle/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", URL: "readonly", Buffer: "readonly", fetch: "readonly", AbortSignal: "readonly", AbortController: "readonly", Response: "readonly", Request: "readonly", Headers: "readonly", TextEncoder: "readonly", structuredClone: "readonly", setImmediate: "readonly", performance: "readonly", NodeJS: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "error",
    },
  },
  {
    files: ["**/*.test.ts", "scripts/**", "bench/**", "**/cli/**", "**/migrate-cli.ts", "packages/testing/**"],
    rules: { "no-console": "off" },
  },
  {
    // Tests read loosely-typed JSON bodies; `any` there is clearer than a cast per line.
    files: ["**/*.test.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
