#!/bin/sh
# The lightest possible agent for the scale benchmark: one real init line, then asleep (no output, no CPU)
# until stopped. Hundreds of these cost the machine almost nothing, so the figures are the orchestrator's.
printf '%s\n' "$BENCH_IDLE_LINE"
exec sleep "${BENCH_HOLD_SEC:-3600}"
