import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

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


def test_oracle_command(capsys):
    main(["oracle", "--n", "500", "--steps", "5", "20", "--eta", "0", "sigma_hat"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 5") or
             line.startswith("| 20")]
    assert len(lines) == 4
    cells = {tuple(line.split("|")[1:3]): line for line in lines}
    assert "e-" in cells[(" 20 ", " 0.0 ")]  # eta = 0 rows carry a reconstruction error


def test_demo_command(tmp_path, capsys):
    main(["demo", "--out", str(tmp_path), "--n", "50", "--steps", "5", "--eta", "0", "sigma_hat", "--recon-steps",
          "5", "10"])
    out = capsys.readouterr().out
    assert "digits-cnn FID (the demo CNN's 64-d features), not Inception FID" in out
    rows = [line for line in out.splitlines() if line.startswith("| 5 |") or line.startswith("| 10 |")]
    assert len(rows) == 4
    result = json.loads((tmp_path / "demo.json").read_text())
    assert [(r["S"], r["eta"], r["n"]) for r in result["fid"]] == [(5, 0.0, 50), (5, "sigma_hat", 50)]
    assert result["recon"][0]["mse"] > result["recon"][1]["mse"] > 0 and result["test_split_fid"] > 0


def test_errors_exit_with_a_message():
    with pytest.raises(SystemExit, match=r"ddim-eval timesteps: error: steps must be in \[1, T=1000\], got 0"):
        main(["timesteps", "0"])
    with pytest.raises(SystemExit, match="unknown model 'imagenet'"):
        main(["fetch", "imagenet"])
    # Before any model or extractor is loaded (the extractor here would need Inception's weights).
    with pytest.raises(SystemExit, match="ddim-eval sample: error: cuda_graphs needs compile"):
        main(["sample", "digits", "out", "--nfe", "2", "--n", "2", "--cuda-graphs"])

def test_a_bad_batch_size_is_named(capsys):
    with pytest.raises(SystemExit):
        main(["time", "digits", "t.json", "--nfe", "2", "--batch-size", "huge"])
    assert "'huge' is neither a positive integer nor 'auto'" in capsys.readouterr().err


def test_fetch_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")
    with pytest.raises(SystemExit, match=r"ddim-eval fetch: error: .*ema_diffusion_cifar10_model/model-790000.ckpt "
                                         r"is missing and \$DDIM_EVAL_OFFLINE is set"):
        main(["fetch", "cifar10", "--cache-dir", str(tmp_path)])


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "ddim-eval"
    result = subprocess.run([str(script), "timesteps", "10"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("10 network evaluations")


def test_cell_pipeline_from_the_command_line(tmp_path, capsys):
    """prepare -> reference statistics -> two shards of one cell -> merged statistics -> FID and KID."""
    main(["prepare-digits", str(tmp_path / "data")])
    main(["reference-stats", str(tmp_path / "data" / "train.npy"), str(tmp_path / "ref"), "--extractor", "digits-cnn"])
    for shard in (0, 1):
        main(["sample", "digits", str(tmp_path / f"cell/shard{shard}"), "--nfe", "10", "--n", "60",
              "--shard", str(shard), "--batch-size", "25", "--extractor", "digits-cnn", "--keep-samples"])
    with pytest.raises(SystemExit, match=r"shard1/stats.npz lies in a shard folder; the command takes the inputs"):
        main(["merge-stats", str(tmp_path / "cell/stats.npz"), str(tmp_path / "cell/shard0/stats.npz"),
              str(tmp_path / "cell/shard1/stats.npz")])  # the order before the output came last
    main(["merge-stats", str(tmp_path / "cell/shard0/stats.npz"), str(tmp_path / "cell/shard1/stats.npz"),
          str(tmp_path / "cell/stats.npz")])
    main(["fid", str(tmp_path / "cell/stats.npz"), str(tmp_path / "ref/stats.npz"), "--features",
          str(tmp_path / "cell/shard0/features.npz"), str(tmp_path / "cell/shard1/features.npz"), "--ref-features",
          str(tmp_path / "ref/features.npz"), "--out", str(tmp_path / "fid.json")])
    out, err = capsys.readouterr()
    assert "digits-cnn FID (not Inception)" in out and "(120 vs 1437 samples)" in out
    assert "KID over all pairs (unbiased, in the kernel's raw units; may be < 0)" in out
    assert re.search(r"fid bootstrap\.\.\. [0-9.]+ s\nkid\.\.\. [0-9.]+ s\nkid all pairs bootstrap\.\.\. ", err)
    assert "(95% basic bootstrap, centred interval, 200 resamples of the generated samples)" in out
    record = json.loads((tmp_path / "fid.json").read_text())
    assert record["extractor"] == "digits-cnn" and record["n"] == 120 and record["fid"] > 0
    assert record["fid_ci_low"] < record["fid"] < record["fid_ci_high"] and len(record["replicates"]["fid"]) == 200
    assert record["kid_subset_size"] == 120 and "kid_all_pairs" in record
    # --kid-subsets 0: KID over all pairs only (torch-fidelity's subset KID is for published numbers).
    main(["fid", str(tmp_path / "cell/stats.npz"), str(tmp_path / "ref/stats.npz"), "--features",
          str(tmp_path / "cell/shard0/features.npz"), str(tmp_path / "cell/shard1/features.npz"), "--ref-features",
          str(tmp_path / "ref/features.npz"), "--kid-subsets", "0", "--out", str(tmp_path / "fid0.json")])
    without = json.loads((tmp_path / "fid0.json").read_text())
    assert "kid_mean" not in without and without["kid_all_pairs"] == record["kid_all_pairs"]
    assert "KID (torch-fidelity)" not in capsys.readouterr().out
    timing = json.loads((tmp_path / "cell/shard1/timing.json").read_text())
    assert (timing["model"], timing["budget"], timing["sampler"], timing["params"], timing["spacing"], timing["shard"]) \
        == ("digits", 10, "ddim", {"eta": 0.0}, "linear", 1)
    with np.load(tmp_path / "cell/shard0/samples.npz") as a, np.load(tmp_path / "cell/shard1/samples.npz") as b:
        assert a["images"].shape == (60, 1, 8, 8) and not np.array_equal(a["images"], b["images"])


def test_any_sampler_from_the_command_line(tmp_path, capsys):
    main(["sample", "digits", str(tmp_path / "cell"), "--nfe", "10", "--sampler", "{name: unipc, params: {order: 3}}",
          "--n", "20", "--batch-size", "20", "--extractor", "digits-cnn"])
    assert "(unipc-order=3, NFE 10)" in capsys.readouterr().out
    timing = json.loads((tmp_path / "cell/timing.json").read_text())
    assert (timing["sampler"], timing["network_evals"], timing["spacing"], timing["params"]["variant"]) == \
        ("unipc-order=3", 10, "logSNR", "bh2")
    main(["time", "digits", str(tmp_path / "t.json"), "--nfe", "9", "--sampler", "heun", "--batch-size", "4",
          "--repeats", "1", "--warmup", "0"])
    assert json.loads((tmp_path / "t.json").read_text())["network_evals"] == 9
    main(["timing-figure", str(tmp_path / "t.json"), str(tmp_path / "figure4")])  # NFE on the S axis
    assert (tmp_path / "figure4.png").stat().st_size > 0
    # Before any network or extractor is loaded.
    for args, message in ((["--nfe", "10", "--sampler", "{name: ddim, params: {eta: -1}}"],
                           r"eta: -1 is not allowed; allowed: a number >= 0"),
                          (["--nfe", "10", "--sampler", "[ddim]"], "is neither a name nor a mapping"),
                          (["--nfe", "10", "--sampler", "{name: ddim"], r"is not valid YAML: expected ',' or '}'"),
                          (["--nfe", "2", "--sampler", "fpndm"], "sampler 'fpndm': NFE 2 is too small"),
                          (["--nfe", "8", "--sampler", "{name: deis, params: {order: 9}}"], "order: 9 is not allowed"),
                          (["--nfe", "8", "--sampler", "heun", "--spacing", "linear"], "spacing 'linear' is not one")):
        with pytest.raises(SystemExit, match=message):
            main(["sample", "digits", str(tmp_path / "bad"), *args, "--n", "2"])


def test_figure_commands_name_a_table_of_the_wrong_kind(tmp_path):
    (tmp_path / "timing.csv").write_text("dataset,S,device,fast_path,value\ndigits,10,cpu,fp32,0.1\n")
    for command, what in (("fid-figure", "a FID table"), ("sampler-figure", "a sampler study's table")):
        with pytest.raises(SystemExit, match=rf"ddim-eval {command}: error: .*timing.csv has no column\(s\) "
                                             rf"\[.*'metric'.*\]: it is not {what}.*; its columns: \['dataset', 'S'"):
            main([command, str(tmp_path / "timing.csv"), str(tmp_path / "figure")])
    assert not list(tmp_path.glob("figure*"))


def test_a_split_of_another_shape_than_the_model_is_refused_before_any_work(tmp_path):
    np.save(tmp_path / "rgb.npy", np.zeros((4, 3, 32, 32), np.uint8))
    with pytest.raises(SystemExit, match=r"rgb.npy holds images of shape \(3, 32, 32\) \(C, H, W\), but model "
                                         r"'digits' takes \(1, 8, 8\)"):
        main(["reconstruct", "digits", str(tmp_path / "rgb.npy"), str(tmp_path / "r.json"), "--steps", "5"])


def test_reconstruct_and_time_commands(tmp_path, capsys):
    main(["prepare-digits", str(tmp_path / "data")])
    main(["reconstruct", "digits", str(tmp_path / "data/test.npy"), str(tmp_path / "r.json"), "--steps", "10",
          "--n", "20"])
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["n"] == 20 and 0 < record["mse"] < 0.1 and record["eps_at"] == "current"
    assert record["mse_ci_low"] < record["mse"] < record["mse_ci_high"] and record["n_boot"] == 200
    main(["time", "cifar10", str(tmp_path / "t.json"), "--nfe", "2", "--batch-size", "1", "--random-weights",
          "--repeats", "1", "--warmup", "0"])
    timing = json.loads((tmp_path / "t.json").read_text())
    assert timing["random_weights"] and timing["network_evals"] == 2 and timing["hours_per_50k"] > 0


@pytest.mark.parametrize("fast, sampler, pixels_differ", [
    (["--precision", "bf16"], ["--nfe", "10", "--sampler", "{name: ddim, params: {eta: 1}}"], (0.05, 0.9)),
    (["--channels-last"], ["--nfe", "10", "--sampler", "dpm_solver_pp"], (0.0, 0.01))])
def test_fast_path_check_command(tmp_path, capsys, fast, sampler, pixels_differ):
    """The same x_T in fp32 and in a fast setting, with the paper's sampler or any other: bf16 moves many uint8
    pixels by a level or so; channels_last only reorders float32 sums, so (nearly) no pixel changes and FID does not
    move."""
    main(["prepare-digits", str(tmp_path / "data")])
    main(["reference-stats", str(tmp_path / "data/train.npy"), str(tmp_path / "ref"), "--extractor", "digits-cnn"])
    main(["fast-path-check", "digits", str(tmp_path / "ref/stats.npz"), *sampler, "--n", "200",
          "--batch-size", "64", "--extractor", "digits-cnn", "--n-boot", "50", "--out", str(tmp_path / "p.json"),
          *fast])
    r = json.loads((tmp_path / "p.json").read_text())
    assert r["n"] == 200 and r["batch_size"] == 64 and r["reference"] == "fp32" and r["n_boot"] == 50
    assert (r["sampler"], r["nfe"]) == (("ddim-eta=1.0", 10) if "ddim" in sampler[-1] else ("dpm_solver_pp", 10))
    assert pixels_differ[0] <= r["share_pixels_differ"] <= pixels_differ[1]
    assert r["fid_shift"] == pytest.approx(r["fid_fast"] - r["fid_reference"])
    assert r["fid_shift_ci_low"] <= r["fid_shift"] <= r["fid_shift_ci_high"]
    # Pairing: the shift's interval is far narrower than the FID's own.
    assert r["fid_shift_ci_high"] - r["fid_shift_ci_low"] < r["fid_noise_half_width"]
    assert f"{r['fast_path']} against fp32 on cpu" in capsys.readouterr().out
    if "--channels-last" in fast:
        assert r["max_abs_x0_difference"] < 1e-4 and abs(r["fid_shift"]) < 1e-3


def test_auto_batch_size_is_measured_once_and_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DDIM_EVAL_CACHE", str(tmp_path / "cache"))
    written = []
    for out in ("t1.json", "t2.json"):
        main(["time", "digits", str(tmp_path / out), "--nfe", "2", "--batch-size", "auto", "--repeats", "1"])
        written.append((tmp_path / "cache/batch_sizes.json").stat().st_mtime_ns)
    assert written[0] == written[1]  # the second run read the cache: nothing measured, nothing written
    cache = json.loads((tmp_path / "cache/batch_sizes.json").read_text())
    (key, entry), = cache.items()
    assert key.startswith("cpu (") and "| digits | fp32 |" in key
    batch = entry["batch_size"]
    assert batch in {2**k for k in range(7)} and batch in [m["batch"] for m in entry["measured"]]
    assert [json.loads((tmp_path / out).read_text())["batch_size"] for out in ("t1.json", "t2.json")] == [batch] * 2
    assert capsys.readouterr().err.count(f"batch size {batch} ({key})") == 2


def test_bad_metric_inputs_are_named(tmp_path):
    from ddim_eval.metrics.features import save_features
    from ddim_eval.metrics.stats import from_features, save_stats

    f = np.random.default_rng(0).normal(size=(50, 64))
    np.save(tmp_path / "x.npy", np.zeros((4, 1, 8, 8), np.uint8))
    save_stats(tmp_path / "inception.npz", from_features(np.random.default_rng(0).normal(size=(50, 8)),
                                                         "inception-v3-compat", "2048"))
    save_stats(tmp_path / "digits.npz", from_features(f, "digits-cnn", "64"))
    with pytest.raises(SystemExit, match=r"fid: error: statistics do not match: .*digits.npz is digits-cnn layer 64"
                                         r".*inception.npz is inception-v3-compat layer 2048"):
        main(["fid", str(tmp_path / "digits.npz"), str(tmp_path / "inception.npz")])
    with pytest.raises(SystemExit, match=r"KID, FID_inf and precision/recall need the cell's --features"):
        main(["fid", str(tmp_path / "digits.npz"), str(tmp_path / "digits.npz"), "--ref-features", "f.npz"])
    save_features(tmp_path / "f40.npz", f[:40], "digits-cnn", "64")
    with pytest.raises(SystemExit, match=r"features files hold 40 rows but .*digits.npz holds statistics of 50 "
                                         r"samples: .*f40.npz \(40 rows\)"):
        main(["fid", str(tmp_path / "digits.npz"), str(tmp_path / "digits.npz"), "--features", str(tmp_path / "f40.npz")])
    save_features(tmp_path / "f50.npz", f, "digits-cnn", "64")
    for flags, message in ((["--level", "1.5"], r"interval level 1.5 is outside \(0, 1\)"),
                           (["--n-boot", "1"], r"n_boot 1: a bootstrap interval needs an integer number of resamples")):
        with pytest.raises(SystemExit, match=message):
            main(["fid", str(tmp_path / "digits.npz"), str(tmp_path / "digits.npz"), "--features",
                  str(tmp_path / "f50.npz"), *flags])
    with pytest.raises(SystemExit, match="feature extractor weights file .*nowhere.pth does not exist"):
        main(["reference-stats", str(tmp_path / "x.npy"), str(tmp_path / "out"), "--weights-path",
              str(tmp_path / "nowhere.pth")])
    with pytest.raises(SystemExit, match="unknown feature extractor 'inception'"):
        main(["reference-stats", str(tmp_path / "x.npy"), str(tmp_path / "out"), "--extractor", "inception"])
    with pytest.raises(SystemExit, match="has no feature layer '2048'"):
        main(["reference-stats", str(tmp_path / "x.npy"), str(tmp_path / "out"), "--extractor", "digits-cnn",
              "--layer", "2048"])
    np.save(tmp_path / "empty.npy", np.zeros((0, 1, 8, 8), np.uint8))
    with pytest.raises(SystemExit, match="empty.npy: the split is empty"):
        main(["reference-stats", str(tmp_path / "empty.npy"), str(tmp_path / "out"), "--extractor", "digits-cnn"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_fails_before_any_work(tmp_path):
    with pytest.raises(SystemExit, match=r"ddim-eval sample: error: device 'cuda' was asked for, but CUDA is not "
                                         r"available: .*Pass --device cpu"):
        main(["sample", "digits", str(tmp_path / "cell"), "--nfe", "10", "--n", "4",
              "--extractor", "digits-cnn", "--device", "cuda"])
    assert not (tmp_path / "cell").exists()


def test_a_bad_device_is_a_usage_error_and_auto_is_the_default(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["reconstruct", "digits", "x.npy", "r.json", "--steps", "10", "--device", "gpu"])
    assert e.value.code == 2
    assert "argument --device: 'gpu' is not a device (did you mean 'cpu'?); allowed: auto, cpu, cuda, cuda:<index>, " \
           "mps" in capsys.readouterr().err
    main(["sample", "digits", str(tmp_path / "cell"), "--nfe", "2", "--n", "2"])  # no --device, no --extractor
    timing = json.loads((tmp_path / "cell/timing.json").read_text())
    assert timing["device"].startswith("cuda" if torch.cuda.is_available() else "cpu")
    assert timing["extractor"] == "digits-cnn"  # the digits model's extractor, not Inception


def test_inception_offline_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")
    np.save(tmp_path / "x.npy", np.zeros((4, 1, 8, 8), np.uint8))
    with pytest.raises(SystemExit, match=r"ddim-eval reference-stats: error: feature extractor 'inception-v3-compat' "
                                         r"needs its weights file .*ddim-eval fetch-inception.*--weights-path"):
        main(["reference-stats", str(tmp_path / "x.npy"), str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_command_line_conventions(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("ddim-eval 0.")
    with pytest.raises(SystemExit) as e:  # a usage error: exit code 2, and the nearest command
        main(["smaple"])
    assert e.value.code == 2 and "did you mean 'sample'?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: 0)" in help_text and "(default: auto)" in help_text and "(default: ddim" not in help_text


def test_every_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    from ddim_eval.cli import sample as sample_commands

    def broken(args):
        raise TypeError("an unforeseen failure")

    monkeypatch.setattr(sample_commands, "_timesteps", broken)
    with pytest.raises(SystemExit) as e:
        main(["timesteps", "10"])
    assert e.value.code == "ddim-eval timesteps: error: TypeError: an unforeseen failure (set DDIM_EVAL_DEBUG=1 " \
                           "for the traceback)"
    monkeypatch.setenv("DDIM_EVAL_DEBUG", "1")
    with pytest.raises(TypeError, match="an unforeseen failure"):
        main(["timesteps", "10"])


def test_ctrl_c_says_the_rerun_resumes(monkeypatch, capsys):
    from ddim_eval.cli import sample as sample_commands

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sample_commands, "_timesteps", interrupted)
    with pytest.raises(SystemExit) as e:
        main(["timesteps", "10"])
    assert e.value.code == 130 and "interrupted; finished work is kept, and the same command resumes it" in \
        capsys.readouterr().err


def test_fid_refuses_corrupt_statistics_with_one_line(tmp_path):
    from ddim_eval.metrics.stats import from_features, save_stats

    save_stats(tmp_path / "ref.npz", from_features(np.random.default_rng(0).normal(size=(50, 4)), "x", "y"))
    z = dict(np.load(tmp_path / "ref.npz"))
    np.savez(tmp_path / "cell.npz", **(z | {"sigma": -np.eye(4)}))
    with pytest.raises(SystemExit) as e:
        main(["fid", str(tmp_path / "cell.npz"), str(tmp_path / "ref.npz"), "--out", str(tmp_path / "fid.json")])
    assert "cell.npz holds corrupt statistics: sigma is not positive semi-definite" in str(e.value.code)
    assert not (tmp_path / "fid.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["sample", "digits", "OUT", "--nfe", "10", "--n", "0"], "argument --n: must be >= 2 (a covariance needs two "
                                                             "samples), got 0"),
    (["sample", "digits", "OUT", "--nfe", "0", "--n", "4"], "argument --nfe: must be >= 1, got 0"),
    (["demo", "--out", "OUT", "--steps", "10", "0"], "argument --steps: must be >= 1, got 0"),
    (["sample", "digits", "OUT", "--nfe", "10", "--n", "4", "--shard", "-1"], "argument --shard: must be >= 0, got -1"),
])
def test_counts_are_refused_before_any_work(tmp_path, capsys, argv, message):
    """`sample --n 0` was refused only after the model loaded (leaving .partial/), `demo --steps 10 0` after S = 10."""
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / "out") if a == "OUT" else a for a in argv])
    assert e.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["figures", "digits", "out", "--variants", "abc"], "argument --variants: 'abc' is not an eta; allowed: a number "
                                                        ">= 0 or 'sigma_hat'"),
    (["demo", "--eta", "-1"], "argument --eta: '-1' is not an eta"),
    (["sample", "digits", "out", "--nfe", "5", "--n", "1"], "argument --n: must be >= 2 (a covariance needs two"),
])
def test_usage_errors_name_the_argument_and_what_is_allowed(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_train_writes_the_weights_without_ema_too(tmp_path, capsys):
    """`train --raw-out`: the EMA weights and the trained weights themselves (the demo's `digits_no_ema`), each with
    its sha256; they differ."""
    from ddim_eval.data import digits
    from ddim_eval.fetch import load_safetensors

    digits.prepare(tmp_path / "data")
    main(["train", "digits", str(tmp_path / "data/train.npy"), str(tmp_path / "ema.safetensors"), "--raw-out",
          str(tmp_path / "raw.safetensors"), "--steps", "3", "--batch-size", "8"])
    printed = capsys.readouterr().out
    assert "ema.safetensors: sha256 " in printed and "raw.safetensors: sha256 " in printed
    ema, raw = (load_safetensors(tmp_path / f"{name}.safetensors") for name in ("ema", "raw"))
    assert ema.keys() == raw.keys() and any(not torch.equal(ema[k], raw[k]) for k in ema)


def test_check_config_summarizes_the_plan(monkeypatch, capsys):
    """The small grid's config (run from .test/, where its user's sampler module sits): its cells, counting the
    protocol study's, and what else it plans."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2] / ".test")
    main(["check-config", "config/config.yaml"])
    assert capsys.readouterr().out == ("config/config.yaml: valid; run 'small': 12 cells of 2 shard(s) each, 60 samples "
                                       "per cell, device cpu, 1 sample set(s) of yours, a protocol study\n")
