"""The recommender: implicit ALS on loans, evaluated against popularity, published to the portal."""

import os

# implicit runs its own threads; a multithreaded BLAS underneath only oversubscribes the cores.
# OpenBLAS's own variable, not a libcrm setting: it must be set before numpy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
