"""recog: stacked bidirectional recurrent encoders trained with CTC, for speech and handwriting.

``recog.load(path)`` gives a model to transcribe files or data in memory (``recog.api``).
"""

__version__ = "0.1.0"
__all__ = ["load", "RecogError", "Result", "__version__"]


def __getattr__(name: str):
    # torch is imported when the API is first used, not by `import recog` (the CLI's --version)
    if name in ("load", "RecogError", "Result", "Model"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'recog' has no attribute {name!r}")
