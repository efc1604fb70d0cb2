"""Wrapping methods of the host's classes (each at most once, given back on stop), and telling
whether a module is ready to be wrapped."""

import sys


def imported(name):
    """In sys.modules and done importing (a module mid-import has half its names)."""
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return module is not None and not getattr(spec, "_initializing", False)


class Patches:
    """The wrappers one hook installed: wrap() puts make(original) in place of owner.name unless it
    is ours already; restore() puts the originals back where the attribute is still ours (someone
    who wrapped over us keeps their wrapper, which calls ours, which calls through)."""

    def __init__(self):
        self.done = []  # (owner, name, original)

    def wrap(self, owner, name, make):
        orig = owner.__dict__.get(name)
        if orig is None or getattr(orig, "_rtprof", False):
            return
        fn = make(orig)
        fn._rtprof = True
        fn.__wrapped__ = orig
        fn.__doc__ = getattr(orig, "__doc__", None)
        name_of = getattr(orig, "__name__", name)
        fn.__name__ = name_of if isinstance(name_of, str) else name
        setattr(owner, name, fn)
        self.done.append((owner, name, orig))

    def restore(self):
        while self.done:
            owner, name, orig = self.done.pop()
            if getattr(owner.__dict__.get(name), "_rtprof", False):
                try:
                    setattr(owner, name, orig)
                except (TypeError, AttributeError):
                    pass  # a class made read-only since (an extension type): leave our wrapper
