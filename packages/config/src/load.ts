import { z } from "zod";
import { fields, type FieldName } from "./fields";
import { loadRootDotEnv } from "./dotenv";

export type Config<K extends FieldName> = { [P in K]: z.output<(typeof fields)[P]> };

/** Thrown by parseConfig; its message is one line naming every bad variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Validates the named variables of `source` (an empty string counts as unset, as
 * docker-compose passes `FOO=` for an absent value). Throws ConfigError on any problem.
 */
export function parseConfig<K extends FieldName>(
  names: readonly K[],
  source: NodeJS.ProcessEnv = process.env,
): Config<K> {
  const shape = Object.fromEntries(names.map((n) => [n, fields[n]]));
  const input = Object.fromEntries(
    names.map((n) => [n, source[n] === "" ? undefined : source[n]]),
  );
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? "env");
      const unset = input[name] === undefined;
      return `${name}: ${unset ? "is required but not set" : i.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  return result.data as Config<K>;
}

/**
 * parseConfig for a process entry point: reads the workspace's `.env` (if any, under the real
 * environment), and on bad config prints the one-line reason and exits with status 78
 * (EX_CONFIG), so an orchestrator shows why the service would not start.
 */
export function loadConfig<K extends FieldName>(names: readonly K[]): Config<K> {
  loadRootDotEnv();
  try {
    return parseConfig(names);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
