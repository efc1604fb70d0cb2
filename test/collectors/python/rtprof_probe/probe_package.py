"""Loads the probe package for the unit tests the way the probe's own loaders do (its _loader.py),
so the tests import rtprof_probe.* exactly as a target does."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def _repo_root():
    d = HERE
    while not os.path.exists(os.path.join(d, "package.json")):
        parent = os.path.dirname(d)
        if parent == d:
            raise RuntimeError("package.json not found above " + HERE)
        d = parent
    return d


PACKAGE_DIR = os.path.join(_repo_root(), "collectors", "python", "rtprof_probe")


def run_loader(package_dir=PACKAGE_DIR):
    loader = os.path.join(package_dir, "_loader.py")
    g = {}
    with open(loader, "rb") as f:
        exec(compile(f.read(), loader, "exec"), g)
    return g["load"](package_dir)


probe = run_loader()
