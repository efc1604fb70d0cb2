"""Loads this directory as the package rtprof_probe, wherever it was copied to: the one loader of
both the injected code (injection.ts) and the preload (preload/sitecustomize.py). It is executed,
not imported (there is nothing to import it with yet):

    g = {}
    exec(compile(open(DIR + "/_loader.py", "rb").read(), DIR + "/_loader.py", "exec"), g)
    probe = g["load"](DIR)

sys.path is never touched (the package cannot shadow an application's module, and the
application's modules cannot shadow the package's): the package is found through its spec's
submodule_search_locations. A probe already loaded in this process is returned as it is, so
loading twice (two attaches, or an attach to a preloaded process) never stacks.
Written for CPython 3.6+ (see __init__.py).
"""

NAME = "rtprof_probe"


def load(package_dir):
    import importlib.util
    import os
    import sys

    module = sys.modules.get(NAME)
    if module is not None:
        if not hasattr(module, "PROBE_VERSION") or not callable(getattr(module, "start", None)):
            raise ImportError("the application has its own module named %s: the rtprof probe was not loaded" % NAME)
        return module
    package_dir = os.path.abspath(package_dir)
    spec = importlib.util.spec_from_file_location(
        NAME, os.path.join(package_dir, "__init__.py"), submodule_search_locations=[package_dir]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        # Leave no half-loaded package behind: the next attach starts from scratch.
        for key in [k for k in sys.modules if k == NAME or k.startswith(NAME + ".")]:
            del sys.modules[key]
        raise
    return module
