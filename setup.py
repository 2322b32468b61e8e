"""Build configuration for the one compiled module; everything else is in pyproject.toml.

``recog/decode/_beam.cpp`` (with ``_ngram.h``, the back-off n-gram it can hold) is the compiled CTC prefix beam search (plain CPython API: no build
dependency beyond a C++17 compiler).  It is optional: without a compiler the install still
succeeds and decoding falls back to the pure-Python search (``recog.decode.fast_beam.available()``
says which one runs).  No fast-math and no fused multiply-add, so that scores match the Python
reference bit for bit.
"""

import sys

from setuptools import Extension, setup

args = ["/std:c++17", "/O2", "/fp:precise"] if sys.platform == "win32" else ["-std=c++17", "-O3", "-ffp-contract=off"]

setup(
    ext_modules=[
        Extension(
            "recog.decode._beam",
            sources=["recog/decode/_beam.cpp"],
            depends=["recog/decode/_ngram.h"],
            language="c++",
            extra_compile_args=args,
            optional=True,
        )
    ]
)
