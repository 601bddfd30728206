"""asv suites for relukit: see docs/user_guide/benchmarking.rst."""
