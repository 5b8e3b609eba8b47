"""A package whose public names load on first use (PEP 562), so importing
it imports none of its modules: `textgru.data` lists datasets without
`datasets`, `textgru.deploy` reads an export without TensorFlow."""

import importlib


def lazy_names(package, names):
    """`(__getattr__, __dir__, __all__)` for the package `package` whose
    public names are `names`: each name -> the module of the package that
    defines it (a name that is its module's own: the module).

        __getattr__, __dir__, __all__ = lazy_names(__name__, {"load": "loading"})
    """
    module = importlib.import_module(package)

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = importlib.import_module(f"{package}.{names[name]}")
        if names[name] != name:
            value = getattr(value, name)
        setattr(module, name, value)
        return value

    def __dir__():
        return sorted([*vars(module), *names])

    return __getattr__, __dir__, sorted(names)
