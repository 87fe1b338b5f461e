// Preloaded into a service with NODE_OPTIONS="--import <this file>" (Node 20 refuses --cpu-prof
// there). Profiles the main thread from boot: CPU samples, and a sampling profile of every
// allocation (collected ones included, so it shows who churns the heap, not only who holds it).
// Writes <BENCH_PROFILE_DIR>/<pid>.cpuprofile and .heapprofile when the process exits,
// including through process.exit() after a graceful shutdown.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  session.post("HeapProfiler.enable");
  session.post("HeapProfiler.startSampling", {
    samplingInterval: 64 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.once("exit", () => {
    // A same-thread session answers synchronously, so both complete inside the exit handler.
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
    session.post("HeapProfiler.stopSampling", (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
