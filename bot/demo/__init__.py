"""Demo-only code: `tarsy demo` and the benchmarks' harness (stand-ins + a real `tarsy serve`)."""
