#!/bin/sh
# Builds AbmFuzz with libFuzzer and AddressSanitizer and runs each target for SECONDS (default 600).
# Usage: Fuzz/run.sh [SECONDS] [TARGET…]   (from the repository root; `make fuzz`, `make fuzz-smoke`)
# New inputs go to .build/fuzz/corpus/TARGET (the committed seeds in Fuzz/corpus/TARGET stay as they are);
# a finding is written to .build/fuzz/findings/ and stops the run with a non-zero status.
set -eu
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-wire lead json template}
swift=${SWIFT:-swift}
$swift build --product AbmFuzz --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
mkdir -p .build/fuzz/findings
for target in $targets; do
    mkdir -p ".build/fuzz/corpus/$target"
    echo "fuzz $target: ${seconds}s, started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    # Swift's own backtracer would race libFuzzer's crash handler; libFuzzer reports and saves the input.
    SWIFT_BACKTRACE=enable=no .build/fuzz/debug/AbmFuzz --target="$target" \
        -max_total_time="$seconds" -timeout=10 -max_len=8192 -print_final_stats=1 \
        -artifact_prefix=".build/fuzz/findings/$target-" \
        ".build/fuzz/corpus/$target" "Fuzz/corpus/$target"
done
