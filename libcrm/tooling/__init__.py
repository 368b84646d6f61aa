"""What the two README commands need besides the product: the simulated library, the demo
runner, the benchmark and the embedded PostgreSQL. Nothing in the product imports this package
(the import contract in pyproject.toml keeps it so)."""
