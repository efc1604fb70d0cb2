"""rtprof preload (`rtprof run -- python3 app.py` puts this directory first on PYTHONPATH).

Starts the probe when RTPROF_SOCKET is set, then runs the sitecustomize the environment would have
run without us (Debian's apport hook, a venv's, a company one), so launching under rtprof changes
nothing else. Compatibility floor: CPython 3.8.
"""


def _rtprof_start_probe():
    import os

    if not os.environ.get("RTPROF_SOCKET"):
        return
    try:
        # The same loader as an attach (rtprof_probe/_loader.py), so both load the package alike.
        here = os.path.dirname(os.path.abspath(__file__))
        package = os.path.join(os.path.dirname(here), "rtprof_probe")
        loader = os.path.join(package, "_loader.py")
        with open(loader, "rb") as f:
            g = {}
            exec(compile(f.read(), loader, "exec"), g)
        g["load"](package).start(None)
    except Exception:
        pass  # a guest never breaks its host's start-up


def _rtprof_chain():
    """Imports the next `sitecustomize` on sys.path, skipping our own directory. Its errors are
    left to site.py, which reports them exactly as it would have without rtprof."""
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))

    def is_here(entry):
        try:
            return os.path.samefile(entry or os.getcwd(), here)
        except OSError:
            return False

    search = [p for p in sys.path if not is_here(p)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", search)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_rtprof_start_probe()
_rtprof_chain()
