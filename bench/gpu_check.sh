#!/usr/bin/env bash
# GPU check: what a machine with an NVIDIA GPU and Deno gives kt, in one run, without network.
#
#   bash bench/gpu_check.sh            # from the repository root or anywhere
#
# 1. `deno task kt doctor`: every backend, what is missing, the fixes; the GPU backends here
#    (tensorflow-gpu when TensorFlow sees the GPU, webgpu on a hardware adapter).
# 2. `deno task bench --backends <those GPU backends>`: training throughput, matMul, retrieval
#    and feature extraction on each.
# 3. The paper's protocol, experiments/mnist_pkt.yaml (full 60k/10k MNIST, teacher, plain student,
#    six methods), on the first GPU backend, from an empty cache: seed 0 by default
#    (KT_GPU_CHECK_SEEDS="0,1,2" for all three seeds of the file).
# Then one summary: each step's status and seconds, the bench rows and the results table.
#
# Needs: Deno 2.9 (or npx -y deno@2.9.6: set DENO="npx -y deno@2.9.6"), the project's
# node_modules (`deno install --frozen`, done once with network), and for tensorflow-gpu
# @tensorflow/tfjs-node-gpu installed with its native library (`deno task kt doctor` says how).
# Sized for under 8 minutes on a datacenter GPU: each step has a time limit (seconds, below); a
# step cut off is reported as such, and a rerun of the protocol resumes from the cache.
# Everything it prints is also kept in .kt/gpu_check/<time>/ (the logs and doctor.json).
# To try the script itself where there is no GPU: KT_GPU_CHECK_BACKENDS=webgpu (a software
# adapter) and KT_GPU_CHECK_OVERRIDES="train.limit=300 test.limit=100 teacher.epochs=1" (any
# sweep overrides, space-separated).
set -uo pipefail
cd "$(dirname "$0")/.."

DENO=${DENO:-deno}
BENCH_LIMIT=${KT_GPU_CHECK_BENCH_SECONDS:-150}
PROTOCOL_LIMIT=${KT_GPU_CHECK_PROTOCOL_SECONDS:-300}
SEEDS=${KT_GPU_CHECK_SEEDS:-0}
JOBS=${KT_GPU_CHECK_JOBS:-4}
export DENO_NO_UPDATE_CHECK=1
# Several sweep workers share one GPU: TensorFlow must not take all its memory in the first one.
export TF_FORCE_GPU_ALLOW_GROWTH=true

STAMP=$(date +%Y%m%d-%H%M%S)
LOG=.kt/gpu_check/$STAMP
mkdir -p "$LOG"
SUMMARY=()

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# step <name> <limit seconds> <log file> <command...>: runs it, prints and logs its output.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  echo
  echo "== $name: $*"
  local t0 rc
  t0=$(now)
  timeout --signal=INT --kill-after=15 "$limit" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local status=ok
  if [ "$rc" = 124 ] || [ "$rc" = 130 ] || [ "$rc" = 137 ]; then
    status="cut off at ${limit} s"
  elif [ "$rc" != 0 ]; then status="failed (exit $rc)"; fi
  SUMMARY+=("$(printf '%-34s %-22s %8s s' "$name" "$status" "$(since "$t0")")")
  return "$rc"
}

if [ ! -d node_modules/@tensorflow/tfjs-core ]; then
  echo "gpu_check: node_modules is missing: run \`$DENO install --frozen\` once, with network" >&2
  exit 2
fi
echo "kt GPU check, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -srm), $(nproc) cores; logs in $LOG"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader | sed 's/^/GPU: /'

step "kt doctor" 120 "$LOG/doctor.txt" $DENO task -q kt doctor
$DENO task -q kt doctor --json >"$LOG/doctor.json" 2>/dev/null
GPU_BACKENDS=$(sed -n 's/.*"gpuBackends":\[\([^]]*\)\].*/\1/p' "$LOG/doctor.json" | tr -d '"')
GPU_BACKENDS=${KT_GPU_CHECK_BACKENDS:-$GPU_BACKENDS}

if [ -z "$GPU_BACKENDS" ]; then
  echo
  echo "gpu_check: no GPU backend works here — the doctor's report above says why and how to fix it."
  printf '%s\n' "${SUMMARY[@]}"
  exit 1
fi
FIRST=${GPU_BACKENDS%%,*}

step "bench ($GPU_BACKENDS)" "$BENCH_LIMIT" "$LOG/bench.txt" \
  $DENO task -q bench --backends "$GPU_BACKENDS"

step "mnist_pkt on $FIRST, seeds $SEEDS" "$PROTOCOL_LIMIT" "$LOG/protocol.txt" \
  $DENO task -q sweep experiments/mnist_pkt.yaml "backend=$FIRST" "sweep.seeds=[$SEEDS]" \
  ${KT_GPU_CHECK_OVERRIDES:-} \
  --cache-dir "$LOG/cache" --run-dir "runs/gpu_check_$STAMP" -j "$JOBS"

echo
echo "================ kt GPU check: summary ================"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version \
  --format=csv,noheader | sed 's/^/GPU: /'
echo "GPU backends: $GPU_BACKENDS (protocol on $FIRST, $JOBS jobs at once)"
printf '%-34s %-22s %10s\n' "step" "status" "time"
printf '%s\n' "${SUMMARY[@]}"
echo
echo "bench:"
grep '^|' "$LOG/bench.txt" || echo "(no bench table)"
echo
echo "mnist_pkt:"
grep -E '^\||trials:' "$LOG/protocol.txt" || echo "(no results table: see $LOG/protocol.txt)"
