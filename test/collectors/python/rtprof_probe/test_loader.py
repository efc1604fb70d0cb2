"""The one loader (_loader.py) in fresh interpreters: the package loads from a copy anywhere, under
any directory name, without sys.path; loading twice gives the same module; it neither shadows nor
is shadowed by an application's modules; a failed load leaves nothing behind."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

from probe_package import PACKAGE_DIR


def run_python(test, code, cwd):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
    )
    test.assertEqual(p.returncode, 0, p.stderr.decode())
    return p.stdout.decode().strip().split("\n")


LOAD = """
import sys
def load(d):
    g = {}
    with open(d + "/_loader.py", "rb") as f:
        exec(compile(f.read(), d + "/_loader.py", "exec"), g)
    return g["load"](d)
"""


class Loader(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rtprof-pyunit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # A copy under another name, as an attacher ships it into a target's filesystem.
        self.copy = os.path.join(self.tmp, "shipped-probe")
        shutil.copytree(PACKAGE_DIR, self.copy, ignore=shutil.ignore_patterns("__pycache__"))
        # An application directory with modules named like the package's own.
        self.app = os.path.join(self.tmp, "app")
        os.mkdir(self.app)
        for name in ("config", "stats", "channel", "hooks", "work"):
            with open(os.path.join(self.app, name + ".py"), "w") as f:
                f.write("raise RuntimeError('the application module %s was imported')\n" % name)

    def test_a_copy_loads_twice_as_one_module_and_leaves_sys_path_alone(self):
        out = run_python(self, LOAD + """
path = list(sys.path)
a = load(%r)
b = load(%r)
import rtprof_probe.stats, rtprof_probe.work, rtprof_probe.hooks, rtprof_probe.channel
print(a is b, a.__name__, sys.path == path)
print(a.__path__[0])
print(rtprof_probe.stats.__file__)
print(a.start({"socket": None}), callable(a.stop), a.PROBE_VERSION)
""" % (self.copy, PACKAGE_DIR), cwd=self.app)
        self.assertEqual(out[0], "True rtprof_probe True")
        self.assertEqual(out[1], self.copy)
        self.assertEqual(out[2], os.path.join(self.copy, "stats.py"))
        self.assertEqual(out[3], "False True 0.1.0")  # no socket: nothing started, nothing raised

    def test_the_application_keeps_its_own_modules(self):
        out = run_python(self, LOAD + """
load(%r)
import rtprof_probe.config
try:
    import config
except RuntimeError as e:
    print(e)
""" % self.copy, cwd=self.app)
        self.assertEqual(out, ["the application module config was imported"])

    def test_an_application_module_named_rtprof_probe_is_not_taken_for_the_probe(self):
        out = run_python(self, LOAD + """
sys.modules["rtprof_probe"] = type(sys)("rtprof_probe")
try:
    load(%r)
except ImportError as e:
    print(type(e).__name__, e)
""" % self.copy, cwd=self.app)
        self.assertEqual(out, ["ImportError the application has its own module named rtprof_probe: the rtprof probe was not loaded"])

    def test_a_failed_load_leaves_nothing_behind(self):
        with open(os.path.join(self.copy, "probe.py"), "a") as f:
            f.write("\nraise ValueError('broken copy')\n")
        out = run_python(self, LOAD + """
try:
    load(%r)
except ValueError as e:
    print(e)
print(sorted(k for k in sys.modules if k.startswith("rtprof_probe")))
""" % self.copy, cwd=self.app)
        self.assertEqual(out, ["broken copy", "[]"])


if __name__ == "__main__":
    unittest.main()
