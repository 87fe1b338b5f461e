// Entry of the fuzzing client's thread (see fuzz-run.ts). A worker thread gets no TypeScript
// loader from vitest: register tsx's, then load the TypeScript.
import { register } from "tsx/esm/api";

register();
await import("./fuzz-run.ts");
