import subprocess
import sys
from pathlib import Path

import pytest

from ddim_eval.cli import main


def test_timesteps_command(capsys):
    main(["timesteps", "100", "--spacing", "quadratic"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "100 network evaluations, 96 distinct timesteps, t = 0..800"
    assert out[1].split()[:4] == ["0", "0", "0", "0"]


def test_models_command(capsys):
    main(["models"])
    out = capsys.readouterr().out
    assert "cifar10: (3, 32, 32) quadratic tau, T=1000" in out and "pinned on first use" in out


def test_demo_command(capsys):
    main(["demo", "--n", "500", "--steps", "5", "20", "--eta", "0", "sigma_hat"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 5") or
             line.startswith("| 20")]
    assert len(lines) == 4
    cells = {tuple(line.split("|")[1:3]): line for line in lines}
    assert "e-" in cells[(" 20 ", " 0.0 ")]  # eta = 0 rows carry a reconstruction error


def test_errors_exit_with_a_message():
    with pytest.raises(SystemExit, match=r"ddim-eval timesteps: error: steps must be in \[1, T=1000\], got 0"):
        main(["timesteps", "0"])
    with pytest.raises(SystemExit, match="unknown model 'imagenet'"):
        main(["fetch", "imagenet"])


def test_fetch_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")
    with pytest.raises(SystemExit, match=r"ddim-eval fetch: error: .*ema_diffusion_cifar10_model/model-790000.ckpt "
                                         r"is missing and \$DDIM_EVAL_OFFLINE is set"):
        main(["fetch", "cifar10", "--cache-dir", str(tmp_path)])


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "ddim-eval"
    result = subprocess.run([str(script), "timesteps", "10"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("10 network evaluations")
