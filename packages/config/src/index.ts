export { type FieldName } from "./fields";
export { parseConfig, loadConfig, type Config } from "./load";
export { loadRootDotEnv } from "./dotenv";
