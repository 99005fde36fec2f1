#!/usr/bin/env bash
# Installs Debian's OpenMPI (and the libclang the `mpi` crate's bindings are generated
# with), builds examples/mpi_allreduce.rs with the `mpi` feature, and runs it on 2 ranks of
# this machine. Run from anywhere: `bash scripts/mpi.sh` (RANKS=4 for more ranks).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null || ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y libopenmpi-dev openmpi-bin libclang-dev
fi

cargo build --release --features mpi --example mpi_allreduce

# OpenMPI refuses to start as root unless told; --oversubscribe lets RANKS exceed the cores.
ARGS=(-n "${RANKS:-2}" --oversubscribe)
if [ "$(id -u)" = 0 ]; then ARGS+=(--allow-run-as-root); fi
mpirun "${ARGS[@]}" target/release/examples/mpi_allreduce
