"""GPU claims for several jobs on one machine, with lock files standing in for GPUs."""

import subprocess
import sys

from ddim_eval.experiment.devices import claim_device, claim_index, release_all


def test_claims_take_free_slots_and_wait_for_one(tmp_path):
    try:
        assert claim_index(2, tmp_path) == 0
        assert claim_index(2, tmp_path) == 1
        waiter = subprocess.Popen([sys.executable, "-c", "from ddim_eval.experiment.devices import claim_index; "
                                   f"print(claim_index(2, {str(tmp_path)!r}, poll=0.05))"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            waiter.wait(timeout=1.0)
            raise AssertionError("the third job got a GPU while both were held")
        except subprocess.TimeoutExpired:
            pass
    finally:
        release_all()
    assert waiter.communicate(timeout=30)[0].strip() in ("0", "1")


def test_a_killed_holder_frees_its_slot(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; from ddim_eval.experiment.devices import claim_index; "
                               f"print(claim_index(1, {str(tmp_path)!r}), flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "0"
    holder.kill()
    holder.wait()
    try:
        assert claim_index(1, tmp_path, poll=0.05) == 0
    finally:
        release_all()


def test_other_devices_are_left_alone():
    assert claim_device("cpu") == "cpu" and claim_device("cuda:3") == "cuda:3"
