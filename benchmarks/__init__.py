"""Speed and scaling of sociosim against a bare numpy reference and a naive Mesa model (issue 7).

`python -m benchmarks --quick` is the CI smoke run; `python -m benchmarks` the full table.
"""
