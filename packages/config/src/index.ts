export { fields, type FieldName } from "./fields";
export { parseConfig, loadConfig, ConfigError, type Config } from "./load";
export { loadRootDotEnv } from "./dotenv";
