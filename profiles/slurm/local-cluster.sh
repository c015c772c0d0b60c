#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the tests (tests/conftest.py) and for trying profiles/slurm by hand:
# Debian's slurm-wlm and munge, installed when missing (root, apt-get), configured for this machine's cores and
# memory, without systemd and without slurmdbd. Usage:
#   profiles/slurm/local-cluster.sh start    # install if needed, start munged, slurmctld, slurmd; wait for the node
#   profiles/slurm/local-cluster.sh stop     # cancel every job, stop the daemons
# Every failure names its reason and exits non-zero; nothing is skipped.
set -euo pipefail

LOGS=/var/log/slurm
CONF=/etc/slurm/slurm.conf

fail() {
    echo "local-cluster: $*" >&2
    for log in "$LOGS/slurmctld.log" "$LOGS/slurmd.log"; do
        [ -f "$log" ] && { echo "--- last lines of $log" >&2; tail -n 15 "$log" >&2; }
    done
    exit 1
}

install() {
    command -v slurmctld > /dev/null && command -v munged > /dev/null && return
    [ "$(id -u)" = 0 ] || fail "slurm-wlm and munge are missing, and installing them needs root (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge > /tmp/local-cluster-apt.log 2>&1 \
        || { apt-get update -q > /dev/null 2>&1 && apt-get install -y -q slurm-wlm munge > /tmp/local-cluster-apt.log 2>&1; } \
        || fail "apt-get install slurm-wlm munge failed: $(tail -n 3 /tmp/local-cluster-apt.log)"
}

configure() {
    # The node: this machine's cores, and its memory less 1 GiB for the daemons and the test process.
    # One GPU that is not there (a GRES without a device file): the tests see what a GPU job asks of sbatch; a
    # job that got it finds no CUDA device.
    local mem=$(( $(free -m | awk '/Mem:/{print $2}') - 1024 ))
    mkdir -p /etc/slurm /run/munge /var/spool/slurmctld /var/spool/slurmd "$LOGS"
    chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || { mungekey --create > /dev/null 2>&1 || fail "mungekey could not create a key"; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    cat > "$CONF" <<CONF
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ReturnToService=2
MinJobAge=600
# Start a pending job within a second of resources coming free (the default passes are 60 s and 30 s apart).
SchedulerParameters=sched_interval=1,bf_interval=1
GresTypes=gpu
NodeName=localhost CPUs=$(nproc) RealMemory=$mem Gres=gpu:1 State=UNKNOWN
# Up to 4 jobs share a core: the tests' slowed shards, which mostly wait, run beside busy jobs.
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE OverSubscribe=FORCE:4 State=UP
CONF
    echo "NodeName=localhost Name=gpu File=/dev/null" > /etc/slurm/gres.conf
}

start() {
    install
    configure
    pgrep -x munged > /dev/null || su -s /bin/sh munge -c /usr/sbin/munged || fail "munged did not start"
    pgrep -x slurmctld > /dev/null || slurmctld || fail "slurmctld did not start"
    pgrep -x slurmd > /dev/null || slurmd -N localhost || fail "slurmd did not start"
    for _ in $(seq 60); do
        pgrep -x slurmctld > /dev/null || fail "slurmctld stopped after it started"
        pgrep -x slurmd > /dev/null || fail "slurmd stopped after it started"
        state=$(timeout 5 sinfo -h -N -o %t 2>/dev/null || true)
        case "$state" in
            idle*|mix*|alloc*) echo "local-cluster: node localhost $state ($(nproc) CPUs)"; return ;;
            drain*|down*) scontrol update nodename=localhost state=resume > /dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    fail "the node did not come up within 60 s (sinfo says: ${state:-nothing})"
}

stop() {
    scancel --user="$(id -un)" > /dev/null 2>&1 || true
    for daemon in slurmd slurmctld; do pkill -x "$daemon" || true; done
    for _ in $(seq 20); do pgrep -x slurmd > /dev/null || pgrep -x slurmctld > /dev/null || return 0; sleep 0.5; done
    # A job step still reporting to a stopped controller keeps slurmd waiting: end them all.
    pkill -9 -x slurmstepd || true
    for daemon in slurmd slurmctld; do pkill -9 -x "$daemon" || true; done
    for _ in $(seq 20); do pgrep -x slurmd > /dev/null || pgrep -x slurmctld > /dev/null || return 0; sleep 0.5; done
    fail "slurmd or slurmctld did not stop"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
