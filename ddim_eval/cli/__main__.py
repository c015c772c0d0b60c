"""`python -m ddim_eval.cli`: what the workflow's jobs run."""

from ddim_eval.cli.main import main

main()
