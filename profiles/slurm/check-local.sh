#!/usr/bin/env bash
# A check of profiles/slurm on a one-node SLURM made on this machine (Debian, root, no systemd, no slurmdbd):
# installs slurm-wlm and munge, starts munged, slurmctld and slurmd by hand, then runs a reduced demo grid through
# the profile with resources shrunk to the node. Usage: profiles/slurm/check-local.sh [workdir]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/ddim-eval-slurm-check}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge > /dev/null
mkdir -p /run/munge /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown munge:munge /run/munge
pgrep -x munged > /dev/null || su -s /bin/sh munge -c /usr/sbin/munged
mem=$(( $(free -m | awk '/Mem:/{print $2}') - 1024 ))
cat > /etc/slurm/slurm.conf <<CONF
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
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
NodeName=localhost CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld > /dev/null || slurmctld
pgrep -x slurmd > /dev/null || slurmd -N localhost
sleep 3
sinfo
mkdir -p "$work"
cat > "$work/config.yaml" <<CONF
run: slurm-check
extractor: {name: digits-cnn}
datasets:
  digits: {model: digits, source: digits, reference_split: train, recon_split: test}
batch_size: 50
n_samples: 60
shard_size: 30
table1: {datasets: [digits], steps: [5, 10], variants: [0.0, sigma_hat]}
table2: {datasets: [digits], steps: [5, 10], n: 20}
table3: {datasets: [digits], steps: [5, 10], variants: [0.0, 1.0]}
timing: {datasets: [digits], steps: [5, 10], batch_size: 10}
figures:
  datasets: [digits]
  samples: {steps: [5, 10], variants: [0.0, sigma_hat], n: 4}
  consistency: {steps: [5, 10], n: 2}
  interpolation: {steps: 5, pairs: 1, points: 3}
CONF
cd "$repo"
small="mem_mb=2000"
python -m snakemake --profile profiles/slurm --directory "$work" --configfile "$work/config.yaml" \
    --set-resources "sample_shard:$small" "reference_stats:$small" "reconstruct:$small" "timing:$small" \
    "image_figures:$small" --default-resources "$small" runtime=30 cpus_per_task=1
ls "$work/results/slurm-check/summary.md"
