#!/usr/bin/env bash
# Installs and starts a single-node Slurm cluster on this machine, for the slurm executor's
# integration test (tests/slurm_test.ts). Idempotent: run it as often as you like.
#
# Needs root. Works in a container without systemd: munged, slurmctld and slurmd are started
# directly as daemons. The node is named after `hostname -s`, with the CPU count and memory that
# `slurmd -C` reports; one partition, `debug`, is the default; no accounting (no slurmdbd), so
# `sacct` has nothing to say and the executor falls back to `squeue -t all` and exit markers.
#
#   bash tests/slurm/setup.sh        # then: sinfo  → debug* up infinite 1 idle <host>
set -euo pipefail

log() { echo "slurm setup: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root (it installs packages and starts daemons)"
  exit 1
fi

# 1. Packages (Debian/Ubuntu): controller, node daemon, client commands, munge authentication.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge
fi

# 2. Munge: a key, and the daemon running as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  rm -f /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null
fi

# 3. slurm.conf for one node: this host, with its real hardware.
host=$(hostname -s)
hw=$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+ //')
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
conf=$(
  cat <<EOF
# Written by kt's tests/slurm/setup.sh: a single-node cluster for testing.
ClusterName=kt
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Start jobs as soon as they are submitted or their dependencies end (tests wait on this).
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# Finished jobs stay visible to squeue/scontrol for 5 minutes (no accounting database).
MinJobAge=300
KillWait=5
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${host} NodeAddr=127.0.0.1 ${hw} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
)
changed=0
if [ ! -f /etc/slurm/slurm.conf ] || [ "$(cat /etc/slurm/slurm.conf)" != "$conf" ]; then
  log "writing /etc/slurm/slurm.conf (node ${host}: ${hw})"
  printf '%s\n' "$conf" >/etc/slurm/slurm.conf
  changed=1
fi

# 4. Daemons. A changed configuration restarts the ones already running.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {
  if running "$1"; then
    kill "$(cat "$1")"
    for _ in $(seq 50); do running "$1" || break; sleep 0.1; done
  fi
}
if [ "$changed" = 1 ]; then
  stop /run/slurm/slurmd.pid
  stop /run/slurm/slurmctld.pid
fi
if ! running /run/slurm/slurmctld.pid; then
  log "starting slurmctld"
  /usr/sbin/slurmctld
fi
for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
if ! running /run/slurm/slurmd.pid; then
  log "starting slurmd"
  /usr/sbin/slurmd
fi

# 5. Wait until the node takes jobs (resume it if an earlier run left it down or drained).
for i in $(seq 150); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle | mixed | allocated) break ;;
    down* | drain* | drained*)
      if [ "$((i % 10))" = 1 ]; then scontrol update NodeName="$host" State=RESUME || true; fi
      ;;
  esac
  sleep 0.2
done
if ! sinfo -h -n "$host" -o %T | grep -Eq '^(idle|mixed|allocated)'; then
  log "node ${host} did not become idle; see /var/log/slurm/slurmctld.log and slurmd.log"
  sinfo -N -l >&2 || true
  exit 1
fi
log "ready: $(sinfo -h -o '%P %a %l %D %T %N' | head -n 1)"
